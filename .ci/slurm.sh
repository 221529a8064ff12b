#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, for the Slurm tests and for trying `--executor slurm`.
#
#   .ci/slurm.sh up       install (Debian packages) if missing, start munged, slurmctld and slurmd, wait until idle
#   .ci/slurm.sh down     stop the daemons and wipe the state folder (job ids restart at 1 next time)
#   .ci/slurm.sh status   sinfo and squeue, or exit 1 when the cluster is not up
#   .ci/slurm.sh env      the line to eval so that sinfo/sbatch/submitit find the cluster: export SLURM_CONF=...
#
# Needs root and no systemd: the daemons run in the background with their state, logs and pid files
# under $BIOEL_SLURM_DIR (default /tmp/bioel-slurm); slurm.conf is written there too and found through
# SLURM_CONF, so nothing in /etc/slurm is touched. No accounting (slurmdbd): `sacct` fails, and
# .ci/sacct answers in its place from squeue (put it first on PATH). The node is named after
# `hostname -s`; its CPUs and RealMemory come from `slurmd -C` (a RealMemory above what slurmd detects
# would drain the node), less a margin for the rest of the machine.
set -euo pipefail

DIR="${BIOEL_SLURM_DIR:-/tmp/bioel-slurm}"
CONF="$DIR/slurm.conf"
NODE="$(hostname -s)"
export SLURM_CONF="$CONF"

say() { echo "slurm.sh: $*" >&2; }

install_packages() {
  local missing=()
  for tool in munged slurmctld slurmd sinfo; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    say "missing ${missing[*]} and cannot install them (needs root and apt-get)"
    return 1
  fi
  say "installing munge and slurm (Debian packages)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || true
  apt-get install -y -qq --no-install-recommends munge slurmctld slurmd slurm-client >/dev/null
}

start_munge() {
  if munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
    return 0 # a munged is already answering
  fi
  [ -s /etc/munge/munge.key ] || mungekey --create --keyfile /etc/munge/munge.key
  chown munge:munge /etc/munge/munge.key 2>/dev/null || true
  chmod 0400 /etc/munge/munge.key
  mkdir -p /run/munge /var/lib/munge /var/log/munge
  chown munge:munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null || true
  chmod 0755 /run/munge
  if id munge >/dev/null 2>&1 && command -v runuser >/dev/null 2>&1; then
    runuser -u munge -- munged --force
  else
    munged --force
  fi
  touch /run/munge/.started-by-bioel-slurm # `down` stops only a munged that we started
  for _ in $(seq 50); do
    munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  say "munged does not answer"
  return 1
}

write_conf() {
  local cpus mem
  cpus="$(slurmd -C | sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' | head -1)"
  mem="$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' | head -1)"
  # leave 10% (at most 2 GiB) to the rest of the machine; never above what slurmd detects
  mem=$((mem - (mem / 10 < 2048 ? mem / 10 : 2048)))
  mkdir -p "$DIR/state" "$DIR/spool" "$DIR/log"
  cat >"$CONF" <<EOF
# written by .ci/slurm.sh: a single-node test cluster, no accounting, no cgroups
ClusterName=bioel
SlurmctldHost=$NODE
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
# finished jobs stay visible to squeue (and so to .ci/sacct) for an hour
MinJobAge=3600
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
# a job that asks for no memory gets 1 GiB per CPU, not the whole node
DefMemPerCPU=1024
NodeName=$NODE CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
}

is_up() {
  sinfo -h -n "$NODE" -o '%T' 2>/dev/null | grep -Eq '^(idle|mixed|allocated|completing)'
}

up() {
  if [ -f /etc/slurm/slurm.conf ] && [ "${BIOEL_SLURM_FORCE:-0}" != 1 ]; then
    say "this machine has a Slurm configuration of its own (/etc/slurm/slurm.conf): not starting a test cluster"
    say "(BIOEL_SLURM_FORCE=1 starts one anyway, with its files under $DIR)"
    return 1
  fi
  install_packages
  if [ -f "$CONF" ] && is_up; then
    say "already up ($CONF)"
    echo "export SLURM_CONF=$CONF"
    return 0
  fi
  down_quietly
  start_munge
  write_conf
  slurmctld -f "$CONF" -i # -i: ignore state it cannot recover (the folder is fresh anyway)
  slurmd -f "$CONF"
  for _ in $(seq 150); do
    if is_up; then
      say "up: node $NODE idle, SLURM_CONF=$CONF"
      echo "export SLURM_CONF=$CONF"
      return 0
    fi
    # a node that registered as down or drained (e.g. memory mismatch) will not recover by itself
    sleep 0.2
  done
  say "the node did not become idle; sinfo says:"
  sinfo -N -l >&2 || true
  tail -n 20 "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" >&2 2>/dev/null || true
  return 1
}

stop_pidfile() {
  local file="$1" pid
  [ -f "$file" ] || return 0
  pid="$(cat "$file")"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

down_quietly() {
  if [ -f "$CONF" ]; then
    scancel --quiet --user=root 2>/dev/null || true
  fi
  stop_pidfile "$DIR/slurmd.pid"
  stop_pidfile "$DIR/slurmctld.pid"
  rm -rf "$DIR"
}

down() {
  down_quietly
  # a munged that something else started is left alone
  if [ -f /run/munge/.started-by-bioel-slurm ]; then
    stop_pidfile /run/munge/munged.pid
    rm -f /run/munge/.started-by-bioel-slurm
  fi
  say "down (state wiped)"
}

status() {
  if [ -f "$CONF" ] && is_up; then
    sinfo
    squeue --states=all
  else
    say "not up"
    return 1
  fi
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  env) echo "export SLURM_CONF=$CONF" ;;
  *)
    echo "usage: $0 up|down|status|env" >&2
    exit 2
    ;;
esac
