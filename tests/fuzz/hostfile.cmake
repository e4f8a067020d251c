# fuzz_hostfile: the launcher's host-file / -H parsers and rank mapping (pure code, instrumented).
add_executable(fuzz_hostfile fuzz_hostfile.cpp
  ${PROJECT_SOURCE_DIR}/launcher/hostfile.cpp ${PROJECT_SOURCE_DIR}/launcher/host_map.cpp)
target_include_directories(fuzz_hostfile PRIVATE ${PROJECT_SOURCE_DIR})
target_compile_options(fuzz_hostfile PRIVATE ${_camure_fuzz_flags})
target_link_options(fuzz_hostfile PRIVATE ${_camure_fuzz_flags})
target_link_libraries(fuzz_hostfile PRIVATE camure_build_options)
set(_hf_seeds ${CMAKE_CURRENT_BINARY_DIR}/corpus/hostfile-seeds)
set(_hf_work ${CMAKE_CURRENT_BINARY_DIR}/corpus/hostfile-work)
file(MAKE_DIRECTORY ${_hf_seeds} ${_hf_work})
file(WRITE ${_hf_seeds}/openmpi "# hosts\nnode01 slots=4\nnode02 slots=2 max_slots=8 # big\nnode03\n")
file(WRITE ${_hf_seeds}/mpich "node01:4\r\nnode02:1\n[fe80::1]:2\n")
file(WRITE ${_hf_seeds}/list "h1:2,h2,h3:4")
add_test(NAME fuzz_hostfile
  COMMAND fuzz_hostfile -runs=300000 -max_total_time=30 -max_len=512 -timeout=10 ${_hf_work} ${_hf_seeds})
set_tests_properties(fuzz_hostfile PROPERTIES LABELS fuzz TIMEOUT 120)
