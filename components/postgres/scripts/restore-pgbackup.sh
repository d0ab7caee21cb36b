#!/usr/bin/env bash
# Restores a database of a stage from its backups, in one command, from any host with kubectl
# access to the stage's central cluster (the manual's restore-pgbackup.sh, done in the cluster):
#
#   restore-pgbackup.sh <stage> <database> [<timestamp>.dump]
#
# It starts a Job from the suspended CronJob "pgrestore" (which carries the image, the scripts
# and the credentials by Secret reference) with the database and dump set, follows its log and
# exits with the Job's result. pgrestore.sh in the Job checks the dump before it touches the
# server. The CronJob is labelled with its stage; the command refuses to run against a cluster
# of another stage.
#
# Environment: KUBECONFIG / KUBECTL_CONTEXT select the cluster; PGRESTORE_NAMESPACE
# (default postgres); PGRESTORE_TIMEOUT_SECONDS (default 21600).
set -Eeuo pipefail

die() {
  printf 'restore-pgbackup: %s\n' "$*" >&2
  exit 1
}
[[ $# -ge 2 && $# -le 3 ]] || die "usage: restore-pgbackup.sh <stage> <database> [<timestamp>.dump]"
stage="$1" db="$2" dump="${3:-}"
# The rule of plan.ts and pglib.sh: the restore accepts exactly the names the backup takes.
[[ "$db" =~ ^[a-z][a-z0-9_]{0,47}$ ]] || die "'$db' is not a database name of the platform (a lower-case letter, then lower-case letters, digits or '_'; at most 48)"
[[ -z "$dump" || "$dump" =~ ^[0-9]{8}T[0-9]{6}Z(\.dump)?$ ]] || die "'$dump' is not a dump name (<YYYYmmddTHHMMSSZ>.dump)"
namespace="${PGRESTORE_NAMESPACE:-postgres}"
timeout="${PGRESTORE_TIMEOUT_SECONDS:-21600}"

kc() {
  if [[ -n "${KUBECTL_CONTEXT:-}" ]]; then kubectl --context "$KUBECTL_CONTEXT" -n "$namespace" "$@"; else kubectl -n "$namespace" "$@"; fi
}

cluster_stage=$(kc get cronjob pgrestore -o 'jsonpath={.metadata.labels.edp\.daim\.io/stage}') ||
  die "no CronJob pgrestore in namespace $namespace of this cluster (is kubectl pointed at the $stage cluster?)"
[[ "$cluster_stage" == "$stage" ]] ||
  die "this cluster is stage '${cluster_stage:-unknown}', not '$stage'; point kubectl at the $stage cluster"

job="pgrestore-${db//_/-}-$(date -u +%Y%m%d%H%M%S)"
job="${job:0:63}"
job="${job%-}"
printf 'restore-pgbackup: starting Job %s/%s: database %s, dump %s\n' "$namespace" "$job" "$db" "${dump:-latest}" >&2
kc create job "$job" --from=cronjob/pgrestore --dry-run=client -o json |
  kc set env --local -f - -c restore -o json PGRESTORE_DATABASE="$db" PGRESTORE_DUMP="$dump" |
  kc create -f - >/dev/null || die "could not create Job $job"

# Follow the log once the pod runs, then read the Job's verdict.
deadline=$((SECONDS + timeout))
followed=""
while ((SECONDS < deadline)); do
  succeeded=$(kc get job "$job" -o 'jsonpath={.status.succeeded}')
  failed=$(kc get job "$job" -o 'jsonpath={.status.failed}')
  if [[ -z "$followed" ]]; then
    phase=$(kc get pods -l "job-name=$job" -o 'jsonpath={.items[0].status.phase}' 2>/dev/null || true)
    if [[ "$phase" == "Running" || "$phase" == "Succeeded" || "$phase" == "Failed" ]]; then
      kc logs -f "job/$job" -c restore || true
      followed=yes
      continue
    fi
  fi
  if [[ "${succeeded:-0}" -ge 1 ]]; then
    printf 'restore-pgbackup: Job %s succeeded: %s restored\n' "$job" "$db" >&2
    exit 0
  fi
  if [[ "${failed:-0}" -ge 1 ]]; then
    [[ -n "$followed" ]] || kc logs "job/$job" -c restore >&2 || true
    die "Job $job failed: $db was not restored (see the log above)"
  fi
  sleep 3
done
die "Job $job did not finish within ${timeout}s; it goes on in the cluster: kubectl -n $namespace logs -f job/$job"
