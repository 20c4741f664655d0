# ctest: the models built with SystemC alone (README: -DSMMUSIM_MODELS_ONLY=ON)
# and used. Run with cmake -P and SOURCE_DIR, WORK_DIR, CXX, LAUNCHER (see
# consumer_test.cmake).
# 1. smmu-sim configured with SMMUSIM_MODELS_ONLY=ON and yaml-cpp,
#    nlohmann-json, Boost and Catch2 all disabled, built (Release, no
#    sanitizer: what a platform gets) and installed into WORK_DIR/prefix:
#    libraries and headers, no smmu-sim command.
# 2. examples/embed and examples/driver-platform built against that prefix
#    and run: embed reads its translated data, driver-platform prints what
#    the README shows.
cmake_minimum_required(VERSION 3.16)
set(CXX_FLAGS "")
set(BUILD_TYPE Release)
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)

file(REMOVE_RECURSE ${WORK_DIR})
run("configure SMMUSIM_MODELS_ONLY" ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/build ${common}
    -DSMMUSIM_MODELS_ONLY=ON -DCMAKE_DISABLE_FIND_PACKAGE_yaml-cpp=ON -DCMAKE_DISABLE_FIND_PACKAGE_nlohmann_json=ON
    -DCMAKE_DISABLE_FIND_PACKAGE_Boost=ON -DCMAKE_DISABLE_FIND_PACKAGE_Catch2=ON)
run("build SMMUSIM_MODELS_ONLY" ${CMAKE_COMMAND} --build ${WORK_DIR}/build -j2)
run("install SMMUSIM_MODELS_ONLY" ${CMAKE_COMMAND} --install ${WORK_DIR}/build --prefix ${WORK_DIR}/prefix)
if(EXISTS ${WORK_DIR}/prefix/bin/smmu-sim OR NOT EXISTS ${WORK_DIR}/prefix/lib/cmake/smmusim/smmusimConfig.cmake)
  message(FATAL_ERROR "SMMUSIM_MODELS_ONLY installed the smmu-sim command, or no CMake package")
endif()

build_and_run_examples(${WORK_DIR}/prefix "the models-only package")
