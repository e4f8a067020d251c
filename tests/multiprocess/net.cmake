# Multiprocess tests of the multicast session layer on loopback (coordinator and members as processes).
camure_add_gtest(test_session_loopback SOURCES test_session_loopback.cpp LABEL multiprocess TIMEOUT 180 DEPS camure::net)
