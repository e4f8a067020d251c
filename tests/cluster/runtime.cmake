# The runtime (barrier, bcast, topics) across 4 namespace hosts through camurerun over ssh,
# with and without 5 % loss. Build camurerun, camure-proxy and test_runtime_prog_cxx first.
camure_add_cluster_test(runtime SCRIPT test_runtime_cluster.py TIMEOUT 900)
