# Multi-host launcher logic (issue 5): host lists/files, rank->host mapping, the proxy frame
# protocol and the control-channel key/value store. Pure, no sockets.
if(TARGET camurerun_core)
  foreach(_t hostfile host_map frame kv_store agent_command)
    camure_add_gtest(test_launcher_${_t} SOURCES test_launcher_${_t}.cpp LABEL unit TIMEOUT 60 DEPS camurerun_core)
  endforeach()
endif()
