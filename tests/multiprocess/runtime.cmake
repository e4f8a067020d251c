# Multiprocess tests of the MPI-style runtime: C and C++ check programs run through camurerun.
if(TARGET camurerun)
  # Linked against the layer archive (not libcamure.so) so that other layers being worked on
  # cannot break these tests. The C program is strict C11 (POSIX extras via _DEFAULT_SOURCE),
  # proving camure.h is valid C.
  add_executable(test_runtime_prog_c test_runtime_prog_c.c)
  target_link_libraries(test_runtime_prog_c PRIVATE camure_build_options camure::collectives)
  target_compile_definitions(test_runtime_prog_c PRIVATE _DEFAULT_SOURCE)
  set_target_properties(test_runtime_prog_c PROPERTIES C_STANDARD 11 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)

  add_executable(test_runtime_prog_cxx test_runtime_prog_cxx.cpp)
  target_link_libraries(test_runtime_prog_cxx PRIVATE camure_build_options camure::collectives)

  camure_add_gtest(test_runtime_collectives SOURCES test_runtime_collectives.cpp LABEL multiprocess TIMEOUT 300)
  target_compile_definitions(test_runtime_collectives PRIVATE
    CAMURERUN="$<TARGET_FILE:camurerun>"
    PROG_C="$<TARGET_FILE:test_runtime_prog_c>"
    PROG_CXX="$<TARGET_FILE:test_runtime_prog_cxx>")
  add_dependencies(test_runtime_collectives camurerun test_runtime_prog_c test_runtime_prog_cxx)
endif()

# The examples, built as users build them (against libcamure), each run through camurerun.
if(TARGET camurerun AND CAMURE_BUILD_EXAMPLES AND EXISTS ${PROJECT_SOURCE_DIR}/examples/runtime.cmake)
  camure_add_gtest(test_runtime_examples SOURCES test_runtime_examples.cpp LABEL multiprocess TIMEOUT 120)
  target_compile_definitions(test_runtime_examples PRIVATE
    CAMURERUN="$<TARGET_FILE:camurerun>"
    EXAMPLES_DIR="$<TARGET_FILE_DIR:example_hello_c>")
  add_dependencies(test_runtime_examples camurerun example_hello_c example_hello_cxx example_barrier_c
    example_barrier_cxx example_bcast_c example_bcast_cxx example_pubsub_c example_pubsub_cxx)
endif()
