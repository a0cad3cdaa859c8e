# shellcheck shell=bash
# slurm-cluster.sh: a throwaway one-node SLURM cluster on localhost, for tests.
#
# Runs munged, slurmctld and slurmd from Debian's packages (slurm-wlm, munge)
# with every key, socket, state file, pid file and log inside one directory,
# so nothing in /etc or /var is read or written and no systemd is needed.
# The daemons run as root (jobs run as root too), so it needs root.
#
# Usage, from a bash test script:
#   source scripts/slurm-cluster.sh
#   if ! why=$(slurm_cluster_why_not); then echo "SKIP: $why"; exit 77; fi
#   tmp=$(mktemp -d)
#   slurm_cluster_start "$tmp" || exit 1     # exports SLURM_CONF=$tmp/slurm.conf
#   trap 'slurm_cluster_stop "$tmp"' EXIT
#   jobid=$(sbatch --parsable --wrap 'hostname')
#
# The node is the short host name, has $(nproc) CPUs and sits in partition
# "debug".  Without accounting, sacct does not work.  A finished job drops out
# of "squeue -h -j ID" at once; some seconds later slurmctld forgets it and
# squeue/scontrol fail with "Invalid job id specified" on stderr, so wait on
# squeue's stdout only.  Every finished job's state and exit code stays in
# $tmp/jobcomp.log.

# Prints why the cluster cannot run here and returns 1; prints nothing and
# returns 0 when it can.
slurm_cluster_why_not() {
    local c
    for c in munged munge slurmctld slurmd sinfo sbatch squeue scontrol scancel pgrep; do
        if ! command -v "$c" >/dev/null 2>&1; then
            echo "'$c' not found (Debian packages: munge slurm-wlm slurm-client procps)"
            return 1
        fi
    done
    # slurmd switches to the job owner's uid for every job; only root can.
    if [ "$(id -u)" != 0 ]; then
        echo "slurmd and munged need root here (running as $(id -un))"
        return 1
    fi
}

# A TCP port nobody listens on.  Below 32768 so it cannot collide with the
# kernel's ephemeral ports that the daemons' own client sockets use.
_slurm_cluster_free_port() {
    local p i
    for ((i = 0; i < 100; i++)); do
        p=$((10000 + RANDOM % 20000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

# Report a failed start with the daemon's log, and undo the partial start.
# Returns 0 so that "fail ...; return 1" also works under set -e.
_slurm_cluster_fail() {
    local dir=$1 msg=$2 log
    shift 2
    echo "slurm_cluster_start: $msg" >&2
    for log in "$@"; do
        [ -s "$log" ] || continue
        echo "--- last lines of $log:" >&2
        tail -n 15 "$log" >&2
    done
    slurm_cluster_stop "$dir"
}

# True while process PID runs.  Not kill -0: a container's init may be slow to
# reap the daemons, and a zombie still answers kill -0.
_slurm_cluster_running() {
    ps -o stat= -p "$1" 2>/dev/null | grep -qv '^Z'
}

# True while the daemon whose pid file is given is running.
_slurm_cluster_alive() {
    local pid
    pid=$(cat "$1" 2>/dev/null) && [ -n "$pid" ] && _slurm_cluster_running "$pid"
}

slurm_cluster_start() {
    local dir=${1:?usage: slurm_cluster_start DIR} why host cpus mem ctld_port d_port
    dir=$(cd "$dir" && pwd) || return 1
    if ! why=$(slurm_cluster_why_not); then
        echo "slurm_cluster_start: $why" >&2
        return 1
    fi
    mkdir -p "$dir/state" "$dir/spool" || return 1

    # munge: a private key and socket, so we never depend on (or disturb) a
    # system munged.  munged refuses keys readable by others.
    if [ ! -s "$dir/munge.key" ]; then
        dd if=/dev/urandom of="$dir/munge.key" bs=1 count=1024 2>/dev/null || return 1
    fi
    chmod 0400 "$dir/munge.key"
    # --force: munged refuses a socket in a directory that not everybody may
    # enter, and mktemp -d makes DIR 0700.  Only root talks to it here.
    if ! munged --force --socket="$dir/munge.socket" --key-file="$dir/munge.key" \
            --pid-file="$dir/munged.pid" --log-file="$dir/munged.log" \
            --seed-file="$dir/munged.seed" 2>"$dir/munged.stderr"; then
        _slurm_cluster_fail "$dir" "munged did not start" "$dir/munged.stderr" "$dir/munged.log"
        return 1
    fi
    if ! munge -n -S "$dir/munge.socket" | unmunge -S "$dir/munge.socket" >/dev/null 2>&1; then
        _slurm_cluster_fail "$dir" "munged runs but cannot encode/decode a credential" "$dir/munged.log"
        return 1
    fi

    host=$(hostname -s)
    cpus=$(nproc)
    # RealMemory above the real one would make slurmd drain the node.
    mem=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
    # Fresh ports on every start: a previous cluster's sockets may linger.
    if ! ctld_port=$(_slurm_cluster_free_port) || ! d_port=$(_slurm_cluster_free_port) ||
            [ "$ctld_port" = "$d_port" ]; then
        _slurm_cluster_fail "$dir" "no two free TCP ports found"
        return 1
    fi

    # NodeAddr/SlurmctldHost pin 127.0.0.1: the host name need not resolve.
    # proctrack/linuxproc + task/none: no cgroups, which containers rarely give.
    cat >"$dir/slurm.conf" <<EOF
ClusterName=test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$d_port
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/jobcomp.log
MailProg=/bin/true
ReturnToService=2
SlurmctldTimeout=10
SlurmdTimeout=10
MessageTimeout=5
KillWait=5
MinJobAge=2
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    export SLURM_CONF=$dir/slurm.conf

    # Both daemonise once their config is read, so their exit status catches
    # config errors; later failures only show up in their logs.  -c: never
    # recover jobs from a previous start in the same DIR.
    if ! slurmctld -c -f "$SLURM_CONF" 2>"$dir/slurmctld.stderr"; then
        _slurm_cluster_fail "$dir" "slurmctld did not start" "$dir/slurmctld.stderr" "$dir/slurmctld.log"
        return 1
    fi
    if ! slurmd -f "$SLURM_CONF" 2>"$dir/slurmd.stderr"; then
        _slurm_cluster_fail "$dir" "slurmd did not start" "$dir/slurmd.stderr" "$dir/slurmd.log"
        return 1
    fi

    local t state=
    for ((t = 0; t < 30; t++)); do
        state=$(sinfo -h -o %T 2>/dev/null) || true
        [ "$state" = idle ] && return 0
        sleep 1
        # Pid files are written a moment after the fork: only judge after 1 s.
        _slurm_cluster_alive "$dir/slurmctld.pid" ||
            { _slurm_cluster_fail "$dir" "slurmctld exited" "$dir/slurmctld.log"; return 1; }
        _slurm_cluster_alive "$dir/slurmd.pid" ||
            { _slurm_cluster_fail "$dir" "slurmd exited" "$dir/slurmd.log"; return 1; }
    done
    _slurm_cluster_fail "$dir" "node not idle after 30 s (sinfo says: '${state:-nothing}')" \
        "$dir/slurmctld.log" "$dir/slurmd.log"
    return 1
}

# Pids of processes whose command line mentions DIR (daemons, job scripts),
# except this shell and its ancestors, whose arguments may well mention DIR.
_slurm_cluster_pids_in() {
    local dir=$1 p keep=" " pid=$BASHPID
    while [ -n "$pid" ] && [ "$pid" -gt 1 ]; do
        keep+="$pid "
        pid=$(ps -o ppid= -p "$pid" | tr -d ' ') || break
    done
    for p in $(pgrep -f -- "${dir//./\\.}"); do
        [[ $keep == *" $p "* ]] || echo "$p"
    done
}

slurm_cluster_stop() {
    local dir=${1:?usage: slurm_cluster_stop DIR} pids='' f p t
    [ -d "$dir" ] || return 0
    dir=$(cd "$dir" && pwd) || return 0
    # Cancel jobs while slurmd still runs, so it kills their steps: slurmstepd
    # outlives slurmd by design and would keep a job running otherwise.
    if _slurm_cluster_alive "$dir/slurmctld.pid" && _slurm_cluster_alive "$dir/slurmd.pid"; then
        SLURM_CONF=$dir/slurm.conf timeout 10 scancel --quiet --user="$(id -un)" 2>/dev/null &&
            for ((t = 0; t < 10; t++)); do
                [ -z "$(SLURM_CONF=$dir/slurm.conf timeout 5 squeue -h -o %i 2>/dev/null)" ] && break
                sleep 1
            done
    fi
    for f in slurmd slurmctld munged; do
        pids+=" $(cat "$dir/$f.pid" 2>/dev/null || true)"
    done
    pids+=" $(_slurm_cluster_pids_in "$dir")"
    # shellcheck disable=SC2086 # word splitting of the pid list is wanted
    kill $pids 2>/dev/null || true
    for ((t = 0; t < 50; t++)); do
        pids=$(for p in $pids; do if _slurm_cluster_running "$p"; then echo "$p"; fi; done)
        [ -z "$pids" ] && break
        sleep 0.2
    done
    # shellcheck disable=SC2086
    if [ -n "$pids" ]; then kill -9 $pids 2>/dev/null || true; fi
    rm -f "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munged.pid"
    return 0
}
