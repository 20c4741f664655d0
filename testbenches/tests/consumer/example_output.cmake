# ctest: an example built in this tree prints what the README shows. Run with
# cmake -P and SOURCE_DIR, PROGRAM (the executable), EXAMPLE (its examples/
# directory).
cmake_minimum_required(VERSION 3.16)
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
check_example_output(${PROGRAM} ${EXAMPLE} "examples/${EXAMPLE} built in-tree")
