# Unit test of the launcher's job-segment cleanup (both segment file spellings).
if(TARGET camurerun_core)
  camure_add_gtest(test_launcher_shm_cleanup SOURCES test_launcher_shm_cleanup.cpp LABEL unit TIMEOUT 30 DEPS camurerun_core)
endif()
