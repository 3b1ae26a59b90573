# shellcheck shell=bash
# What ./start, ./stop and ./load-images share: where the cluster lives on this machine, and small
# helpers. Sourced, never run.

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# The state directory and its lock files keep their -real names: test runs of older checkouts on the
# same machine find (and wait for) the node through them.
state="${KUBE_LAB_REAL_STATE:-/tmp/webrana-kube-lab-real}"
node_ip="${KUBE_LAB_NODE_IP:-10.255.0.1}"
bridge=cni0
cgroup_name=webrana-kube-lab-real
mark=webrana-kube-lab-real # comment on every iptables rule we add
logs="$state/logs" run="$state/run"
sock="$state/containerd/containerd.sock"
# Started in this order, stopped in reverse.
components=(etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy kube-router)

log() { echo "${0##*/}: $*" >&2; }
die() { log "$*"; exit 1; }

alive() { # pid: running, not a zombie
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  [[ "${stat%% *}" != Z ]]
}
ours() { # pid: its command line names our state directory
  local cmd
  cmd="$(tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline")" || return 1
  [[ "$cmd" == *"$state/"* || "$cmd" == *"$state "* ]]
}
