# Multiprocess tests of the shared-memory layer: real processes on one ring.
camure_add_gtest(test_rmp_multiprocess SOURCES test_rmp_multiprocess.cpp LABEL multiprocess TIMEOUT 120 DEPS camure::shm)
camure_add_gtest(test_rmp_killloop SOURCES test_rmp_killloop.cpp LABEL multiprocess TIMEOUT 120 DEPS camure::shm)
camure_add_gtest(test_topic_multiprocess SOURCES test_topic_multiprocess.cpp LABEL multiprocess TIMEOUT 120 DEPS camure::shm)
camure_add_gtest(test_rmp_cli SOURCES test_rmp_cli.cpp LABEL multiprocess TIMEOUT 60 DEPS camure::shm)
target_compile_definitions(test_rmp_cli PRIVATE CAMURE_SHM_TOOL="$<TARGET_FILE:camure-shm>")
add_dependencies(test_rmp_cli camure-shm)
