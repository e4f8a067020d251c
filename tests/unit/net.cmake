# Unit tests of the multicast session layer (runtime/net): codec and sans-IO protocol, fake clock.
camure_add_gtest(test_net_frame SOURCES test_net_frame.cpp LABEL unit TIMEOUT 60 DEPS camure::net)
camure_add_gtest(test_net_session_core SOURCES test_net_session_core.cpp LABEL unit TIMEOUT 120 DEPS camure::net)
camure_add_gtest(test_net_endpoint SOURCES test_net_endpoint.cpp LABEL unit TIMEOUT 30 DEPS camure::net)
camure_add_gtest(test_net_streams SOURCES test_net_streams.cpp LABEL unit TIMEOUT 30 DEPS camure::net)
camure_add_gtest(test_net_wait_policy SOURCES test_net_wait_policy.cpp LABEL unit TIMEOUT 30 DEPS camure::net)
