# camurerun across hosts without a cluster: -H localhost, the KV store in local mode, and the
# whole remote path (camure-proxy, frames, failures) through a fake launch agent that runs the
# proxy on this machine instead of over ssh.
if(TARGET camurerun AND TARGET launcher_probe)
  camure_add_gtest(test_launcher_hosts SOURCES test_launcher_hosts.cpp LABEL multiprocess TIMEOUT 180)
  target_compile_definitions(test_launcher_hosts PRIVATE
    CAMURERUN_PATH="$<TARGET_FILE:camurerun>"
    PROXY_PATH="$<TARGET_FILE:camure-proxy>"
    PROBE_PATH="$<TARGET_FILE:launcher_probe>")
  add_dependencies(test_launcher_hosts camurerun camure-proxy launcher_probe)
endif()
