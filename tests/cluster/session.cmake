# Cluster tests of the multicast session layer (camure-session-node on 4 namespace hosts).
camure_add_cluster_test(session SCRIPT test_session_cluster.py TIMEOUT 300
  CASES barrier_broadcast_with_loss ipv6_barrier_broadcast member_killed coordinator_killed)
