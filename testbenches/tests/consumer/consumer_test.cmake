# ctest: smmu-sim as another platform uses it (README, "Using the models in
# another platform"). Run with cmake -P and:
#   SOURCE_DIR  the smmu-sim sources      BUILD_DIR  its build tree (built)
#   WORK_DIR    scratch space in the build tree
#   CXX, LAUNCHER, CXX_FLAGS, BUILD_TYPE  how the build tree was compiled
# 1. The README shows exactly examples/embed/ (CMakeLists.txt and main.cpp).
# 2. `cmake --install` into WORK_DIR/prefix; examples/embed is configured with
#    find_package(smmusim) from there, built, and run (exit 0: it read the
#    translated data).
# 3. The same main.cpp compiled and linked with `pkg-config smmusim` only, run.
# 4. SMMUSIM_MODELS_ONLY configures with yaml-cpp, nlohmann-json, Boost and
#    Catch2 all disabled; as a subproject (add_subdirectory) smmu-sim leaves
#    the parent's build type empty and adds no tests.
cmake_minimum_required(VERSION 3.16)

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

# 1. The README's blocks, each after a line "<!-- examples/embed/FILE -->".
file(READ ${SOURCE_DIR}/README.md readme)
foreach(f CMakeLists.txt main.cpp)
  set(marker "<!-- examples/embed/${f} -->\n")
  string(FIND "${readme}" "${marker}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "README.md: no '${marker}' before a code block")
  endif()
  string(LENGTH "${marker}" n)
  math(EXPR at "${at} + ${n}")
  string(SUBSTRING "${readme}" ${at} -1 rest)
  string(FIND "${rest}" "\n" eol)           # the opening fence line
  math(EXPR eol "${eol} + 1")
  string(SUBSTRING "${rest}" ${eol} -1 rest)
  string(FIND "${rest}" "\n```\n" close)
  math(EXPR close "${close} + 1")
  string(SUBSTRING "${rest}" 0 ${close} block)
  file(READ ${SOURCE_DIR}/examples/embed/${f} want)
  if(NOT block STREQUAL want)
    message(FATAL_ERROR "README.md's examples/embed/${f} differs from the file")
  endif()
endforeach()

# 2. Install, find_package, build, run.
file(REMOVE_RECURSE ${WORK_DIR})
run("cmake --install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix)
foreach(f lib/cmake/smmusim/smmusimConfig.cmake lib/pkgconfig/smmusim.pc include/smmusim/models/smmu/smmu.h
          include/smmusim/tlm/smmu_extension.h)
  if(NOT EXISTS ${WORK_DIR}/prefix/${f})
    message(FATAL_ERROR "not installed: ${f}")
  endif()
endforeach()
set(common -DCMAKE_CXX_COMPILER=${CXX} "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}" -DCMAKE_BUILD_TYPE=${BUILD_TYPE})
if(LAUNCHER)
  list(APPEND common -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER})
endif()
run("configure examples/embed" ${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/embed -B ${WORK_DIR}/embed
    -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix ${common})
run("build examples/embed" ${CMAKE_COMMAND} --build ${WORK_DIR}/embed)
run("run examples/embed" ${WORK_DIR}/embed/embed)
message(STATUS "find_package: ${last_output}")
if(NOT last_output MATCHES "DMA read 0x1234abcd \\(ok\\)")
  message(FATAL_ERROR "examples/embed printed: ${last_output}")
endif()

# 3. pkg-config.
set(ENV{PKG_CONFIG_PATH} ${WORK_DIR}/prefix/lib/pkgconfig)
run("pkg-config" pkg-config --cflags --libs smmusim)
string(STRIP "${last_output}" pc)
separate_arguments(pc UNIX_COMMAND "${pc}")
separate_arguments(flags UNIX_COMMAND "${CXX_FLAGS}")
run("pkg-config build" ${LAUNCHER} ${CXX} -std=c++17 ${flags} ${SOURCE_DIR}/examples/embed/main.cpp ${pc}
    -o ${WORK_DIR}/embed-pc)
run("run the pkg-config build" ${WORK_DIR}/embed-pc)
if(NOT last_output MATCHES "DMA read 0x1234abcd \\(ok\\)")
  message(FATAL_ERROR "the pkg-config build printed: ${last_output}")
endif()

# 4. Models only, and as a subproject: configure only.
run("configure SMMUSIM_MODELS_ONLY" ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/models-only
    -DSMMUSIM_MODELS_ONLY=ON -DCMAKE_DISABLE_FIND_PACKAGE_yaml-cpp=ON -DCMAKE_DISABLE_FIND_PACKAGE_nlohmann_json=ON
    -DCMAKE_DISABLE_FIND_PACKAGE_Boost=ON -DCMAKE_DISABLE_FIND_PACKAGE_Catch2=ON)
run("configure a parent project" ${CMAKE_COMMAND} -S ${SOURCE_DIR}/testbenches/tests/consumer/subproject
    -B ${WORK_DIR}/subproject -DSMMUSIM_SOURCE_DIR=${SOURCE_DIR})
