# Unit tests of the shared-memory layer (segment, wait, ring, topics).
camure_add_gtest(test_shm_segment SOURCES test_shm_segment.cpp LABEL unit TIMEOUT 30 DEPS camure::shm)
camure_add_gtest(test_rmp_ring SOURCES test_rmp_ring.cpp LABEL unit TIMEOUT 60 DEPS camure::shm)
camure_add_gtest(test_topic_match SOURCES test_topic_match.cpp LABEL unit TIMEOUT 30 DEPS camure::shm)
camure_add_gtest(test_topic_pubsub SOURCES test_topic_pubsub.cpp LABEL unit TIMEOUT 60 DEPS camure::shm)
camure_add_gtest(test_shm_wait SOURCES test_shm_wait.cpp LABEL unit TIMEOUT 30 DEPS camure::shm)
