# camurerun across 4 namespace hosts over real ssh (one cluster for the whole script): env
# contract, host files, output/stdin/exit status, remote rank killed, ssh cut, program missing,
# unreachable host and refused login, killed camurerun. Build camurerun, camure-proxy and
# launcher_probe first.
camure_add_cluster_test(launcher SCRIPT test_launcher_cluster.py TIMEOUT 600)
