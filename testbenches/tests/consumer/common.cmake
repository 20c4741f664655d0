# Helpers of the consumer tests (cmake -P scripts).

# run(<what> <command...>): runs it, fails naming <what> unless it exits 0;
# its stdout in last_output.
function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

# readme_block(<marker> <var>): the fenced block after the line
# "<!-- <marker> -->" in README.md (without its fences).
function(readme_block marker var)
  file(READ ${SOURCE_DIR}/README.md readme)
  set(line "<!-- ${marker} -->\n")
  string(FIND "${readme}" "${line}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "README.md: no '${line}' before a code block")
  endif()
  string(LENGTH "${line}" n)
  math(EXPR at "${at} + ${n}")
  string(SUBSTRING "${readme}" ${at} -1 rest)
  string(FIND "${rest}" "\n" eol)           # the opening fence line
  math(EXPR eol "${eol} + 1")
  string(SUBSTRING "${rest}" ${eol} -1 rest)
  string(FIND "${rest}" "\n```\n" close)
  math(EXPR close "${close} + 1")
  string(SUBSTRING "${rest}" 0 ${close} block)
  set(${var} "${block}" PARENT_SCOPE)
endfunction()

# check_example_output(<program> <what>): runs an example program and
# compares what it prints with the README's "<!-- <example> output -->"
# block, where <example> is the program's examples/ directory.
function(check_example_output program example what)
  run("run ${what}" ${program})
  readme_block("examples/${example} output" want)
  if(NOT last_output STREQUAL want)
    message(FATAL_ERROR "${what} printed\n${last_output}\nREADME.md shows (examples/${example} output)\n${want}")
  endif()
  message(STATUS "${what}: the README's output")
endfunction()

# check_embed_output(<program> <what>): examples/embed read its translated data.
function(check_embed_output program what)
  run("run ${what}" ${program})
  if(NOT last_output MATCHES "DMA read 0x1234abcd \\(ok\\)")
    message(FATAL_ERROR "${what} printed: ${last_output}")
  endif()
  message(STATUS "${what}: ${last_output}")
endfunction()

# build_and_run_examples(<prefix> <against>): examples/embed and
# examples/driver-platform configured with find_package(smmusim) from the
# install <prefix>, built in WORK_DIR and run.
function(build_and_run_examples prefix against)
  foreach(example embed driver-platform)
    run("configure examples/${example}" ${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/${example}
        -B ${WORK_DIR}/${example} -DCMAKE_PREFIX_PATH=${prefix} ${common})
    run("build examples/${example}" ${CMAKE_COMMAND} --build ${WORK_DIR}/${example})
  endforeach()
  check_embed_output(${WORK_DIR}/embed/embed "examples/embed against ${against}")
  check_example_output(${WORK_DIR}/driver-platform/driver-platform driver-platform
                       "examples/driver-platform against ${against}")
endfunction()

# The options that build another tree as this one was built.
set(common -DCMAKE_CXX_COMPILER=${CXX} "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}" -DCMAKE_BUILD_TYPE=${BUILD_TYPE})
if(LAUNCHER)
  list(APPEND common -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER})
endif()
