# Launcher tests: gtest drives the real camurerun binary with the launcher_probe rank program.
if(TARGET camurerun)
  add_executable(launcher_probe ${PROJECT_SOURCE_DIR}/tests/support/probe/launcher_probe.cpp)
  target_link_libraries(launcher_probe PRIVATE camure_build_options)
  foreach(_t exit signals io env binding badinput wrappers)
    camure_add_gtest(test_launcher_${_t} SOURCES test_launcher_${_t}.cpp LABEL multiprocess TIMEOUT 120)
    target_compile_definitions(test_launcher_${_t} PRIVATE
      CAMURERUN_PATH="$<TARGET_FILE:camurerun>"
      PROBE_PATH="$<TARGET_FILE:launcher_probe>"
      CAMURECC_PATH="${PROJECT_BINARY_DIR}/bin/camurecc"
      CAMURECXX_PATH="${PROJECT_BINARY_DIR}/bin/camurecxx"
      CAMURE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
    add_dependencies(test_launcher_${_t} camurerun launcher_probe)
  endforeach()
  add_dependencies(test_launcher_wrappers camure)
  camure_add_gtest(test_launcher_janitor SOURCES test_launcher_janitor.cpp LABEL multiprocess TIMEOUT 60
    DEPS camurerun_core)
  target_compile_definitions(test_launcher_janitor PRIVATE CAMURERUN_PATH="$<TARGET_FILE:camurerun>")
endif()
