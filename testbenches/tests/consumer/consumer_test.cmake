# ctest: smmu-sim as another platform uses it (README, "Using the models in
# another platform"). Run with cmake -P and:
#   SOURCE_DIR  the smmu-sim sources      BUILD_DIR  its build tree (built)
#   WORK_DIR    scratch space in the build tree
#   CXX, LAUNCHER, CXX_FLAGS, BUILD_TYPE  how the build tree was compiled
# 1. The README shows exactly examples/embed/ and examples/driver-platform/
#    (CMakeLists.txt and main.cpp).
# 2. `cmake --install` into WORK_DIR/prefix; both examples are configured
#    with find_package(smmusim) from there, built, and run: embed reads the
#    translated data, driver-platform prints what the README shows.
# 3. embed's main.cpp compiled and linked with `pkg-config smmusim` only, run.
# 4. As a subproject (add_subdirectory) smmu-sim leaves the parent's build
#    type empty and adds no tests.
# (The models-only build: models_only_test.cmake.)
cmake_minimum_required(VERSION 3.16)
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)

# 1. The README's blocks, each after a line "<!-- examples/DIR/FILE -->".
foreach(f embed/CMakeLists.txt embed/main.cpp driver-platform/CMakeLists.txt driver-platform/main.cpp)
  readme_block("examples/${f}" block)
  file(READ ${SOURCE_DIR}/examples/${f} want)
  if(NOT block STREQUAL want)
    message(FATAL_ERROR "README.md's examples/${f} differs from the file")
  endif()
endforeach()

# 2. Install, find_package, build, run.
file(REMOVE_RECURSE ${WORK_DIR})
run("cmake --install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix)
foreach(f lib/cmake/smmusim/smmusimConfig.cmake lib/pkgconfig/smmusim.pc include/smmusim/models/smmu/smmu.h
          include/smmusim/tlm/smmu_extension.h include/smmusim/tlm/tlm_host_bus.h
          include/smmusim/driver/iommufd/iommufd.h bin/smmu-sim)  # bin/: README, "Two commands" (PATH)
  if(NOT EXISTS ${WORK_DIR}/prefix/${f})
    message(FATAL_ERROR "not installed: ${f}")
  endif()
endforeach()
build_and_run_examples(${WORK_DIR}/prefix "the installed package")

# 3. pkg-config.
set(ENV{PKG_CONFIG_PATH} ${WORK_DIR}/prefix/lib/pkgconfig)
run("pkg-config" pkg-config --cflags --libs smmusim)
string(STRIP "${last_output}" pc)
separate_arguments(pc UNIX_COMMAND "${pc}")
separate_arguments(flags UNIX_COMMAND "${CXX_FLAGS}")
run("pkg-config build" ${LAUNCHER} ${CXX} -std=c++17 ${flags} ${SOURCE_DIR}/examples/embed/main.cpp ${pc}
    -o ${WORK_DIR}/embed-pc)
check_embed_output(${WORK_DIR}/embed-pc "the pkg-config build of examples/embed")

# 4. As a subproject: configure only.
run("configure a parent project" ${CMAKE_COMMAND} -S ${SOURCE_DIR}/testbenches/tests/consumer/subproject
    -B ${WORK_DIR}/subproject -DSMMUSIM_SOURCE_DIR=${SOURCE_DIR})
