# Launcher and topology unit tests: pure logic (options, exit policy, output assembly, env,
# program lookup, mapping/binding on fake topologies).
if(TARGET camurerun_core)
  foreach(_t options exit_policy output_forwarder job_spec program_path event_loop stdin_forwarder)
    camure_add_gtest(test_launcher_${_t} SOURCES test_launcher_${_t}.cpp LABEL unit TIMEOUT 60 DEPS camurerun_core)
  endforeach()
endif()
if(TARGET camure_topology)
  foreach(_t binding cpuset)
    camure_add_gtest(test_topology_${_t} SOURCES test_topology_${_t}.cpp LABEL unit TIMEOUT 60 DEPS camure::topology)
  endforeach()
endif()
