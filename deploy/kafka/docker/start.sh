#!/usr/bin/env bash
# Entrypoint of docker-compose's Kafka container: a KRaft broker with SASL/SCRAM listeners and
# the ACL authorizer (deploy/kafka/security.py; docs/operations.md, "Kafka principals and ACLs").
#
# - server.properties (rendered by `python -m deploy.kafka.compose`, no secrets) is copied to a
#   private work folder and completed with the JAAS entries that carry the admin password;
# - on the first start the storage is formatted with one SCRAM-SHA-512 credential per principal,
#   from <PRINCIPAL>_KAFKA_SASL_PASSWORD (later password changes need kafka-configs.sh --alter);
# - admin.properties (the admin's client login) is written for the healthcheck and for operators.
set -euo pipefail

KAFKA_HOME=${KAFKA_HOME:-/opt/kafka}
SOURCE=${SENTINEL_KAFKA_PROPERTIES:-/opt/sentinel/server.properties}
WORK=${SENTINEL_KAFKA_WORK:-/tmp/sentinel}
# deploy/kafka/acls.py PRINCIPALS (a unit test keeps the two lists equal)
PRINCIPALS="registry telemetry inspection complaints credit campaign console terminals integrator admin"
MECHANISM=SCRAM-SHA-512

for principal in $PRINCIPALS; do
  var="${principal^^}_KAFKA_SASL_PASSWORD"
  value="${!var:-}"
  if [[ -z "$value" ]]; then
    echo "start.sh: $var is not set" >&2
    exit 1
  fi
  if [[ ! "$value" =~ ^[A-Za-z0-9._~+-]+$ ]]; then
    echo "start.sh: $var may only hold letters, digits and . _ ~ + -" >&2
    exit 1
  fi
done
admin="$ADMIN_KAFKA_SASL_PASSWORD"

umask 077
mkdir -p "$WORK"
properties="$WORK/server.properties"
cp "$SOURCE" "$properties"
cat >>"$properties" <<EOF
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$admin";
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$admin" user_admin="$admin";
EOF
cat >"$WORK/admin.properties" <<EOF
security.protocol=SASL_PLAINTEXT
sasl.mechanism=$MECHANISM
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$admin";
EOF

log_dir=$(sed -n 's/^log\.dirs=//p' "$properties")
if [[ ! -f "$log_dir/meta.properties" ]]; then
  scram=()
  for principal in $PRINCIPALS; do
    var="${principal^^}_KAFKA_SASL_PASSWORD"
    scram+=(--add-scram "$MECHANISM=[name=$principal,password=${!var}]")
  done
  cluster_id=${CLUSTER_ID:-$("$KAFKA_HOME/bin/kafka-storage.sh" random-uuid)}
  # The tool prints the SCRAM records (salts, keys): not for the container log.
  "$KAFKA_HOME/bin/kafka-storage.sh" format -t "$cluster_id" -c "$properties" "${scram[@]}" >/dev/null
  echo "start.sh: formatted $log_dir with SCRAM users: $PRINCIPALS"
fi

exec "$KAFKA_HOME/bin/kafka-server-start.sh" "$properties"
