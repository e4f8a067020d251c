# Examples of the MPI-style API (C and C++): hello, barrier, bcast, pub/sub. Each links libcamure
# like a user program would; tests/multiprocess/runtime.cmake runs them through camurerun.
set(CAMURE_RUNTIME_EXAMPLES hello_c hello_cxx barrier_c barrier_cxx bcast_c bcast_cxx pubsub_c pubsub_cxx)
foreach(ex IN LISTS CAMURE_RUNTIME_EXAMPLES)
  if(ex MATCHES "_c$")
    set(src ${ex}.c)
  else()
    set(src ${ex}.cpp)
  endif()
  add_executable(example_${ex} ${src})
  set_target_properties(example_${ex} PROPERTIES OUTPUT_NAME ${ex} C_STANDARD 11 C_EXTENSIONS OFF)
  target_link_libraries(example_${ex} PRIVATE camure_build_options camure)
endforeach()
