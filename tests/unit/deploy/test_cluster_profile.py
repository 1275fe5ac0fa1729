"""The `cluster` profile's pure parts: three KRaft nodes' properties, the quorum, the ports on a
slot, and the topic plan at replication factor 3 (docs/local-stack.md, "The cluster profile")."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.topics import all_topics
from deploy.local import stack
from deploy.local.slots import SLOT_COUNT


@pytest.fixture
def cluster() -> stack.Profile:
    return stack.profiles(Path("/repo"))["cluster"]


def test_three_nodes_on_their_own_ports_and_folder(cluster: stack.Profile) -> None:
    assert cluster.state == Path("/repo/.run/cluster")
    assert cluster.nodes() == [1, 2, 3]
    assert [cluster.broker_port(n) for n in cluster.nodes()] == [23092, 23094, 23096]
    assert [cluster.node_controller_port(n) for n in cluster.nodes()] == [23093, 23095, 23097]
    assert cluster.postgres_port == 23432
    assert cluster.bootstrap == "127.0.0.1:23092,127.0.0.1:23094,127.0.0.1:23096"
    assert cluster.database_url == "postgresql://postgres@127.0.0.1:23432/postgres"
    # No identity provider and no Prometheus: the tests take tokens from the test stack's.
    assert cluster.keycloak_port is None and cluster.prometheus_port is None
    assert sorted(cluster.ports()) == [23092, 23093, 23094, 23095, 23096, 23097, 23432]


def test_the_quorum_is_every_node(cluster: stack.Profile) -> None:
    assert cluster.quorum_voters == ("1@127.0.0.1:23093,2@127.0.0.1:23095,3@127.0.0.1:23097")


def test_each_node_renders_its_own_listeners_and_the_same_quorum(cluster: stack.Profile) -> None:
    rendered = [stack.kafka_properties(cluster, Path(f"/d/{n}"), node=n) for n in cluster.nodes()]
    for n, props in zip(cluster.nodes(), rendered, strict=True):
        broker, controller = 23092 + 2 * (n - 1), 23093 + 2 * (n - 1)
        assert props["node.id"] == str(n)
        assert props["process.roles"] == "broker,controller"
        assert props["controller.quorum.voters"] == cluster.quorum_voters
        assert props["listeners"] == (
            f"PLAINTEXT://127.0.0.1:{broker},CONTROLLER://127.0.0.1:{controller}"
        )
        assert props["advertised.listeners"] == f"PLAINTEXT://127.0.0.1:{broker}"
        assert props["log.dirs"] == f"/d/{n}"
    # The same text for everything but who the node is and where it keeps its data.
    own = {"node.id", "listeners", "advertised.listeners", "log.dirs"}
    shared = [{k: v for k, v in p.items() if k not in own} for p in rendered]
    assert shared[0] == shared[1] == shared[2]


def test_every_topic_internal_ones_too_has_three_replicas_and_min_isr_two(
    cluster: stack.Profile,
) -> None:
    props = stack.kafka_properties(cluster, Path("/d"), node=2)
    assert (cluster.replication_factor, cluster.min_insync_replicas) == (3, 2)
    assert props["default.replication.factor"] == "3"
    assert props["min.insync.replicas"] == "2"
    for key in (
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "share.coordinator.state.topic.replication.factor",
    ):
        assert props[key] == "3"
    for key in ("transaction.state.log.min.isr", "share.coordinator.state.topic.min.isr"):
        assert props[key] == "2"


def test_single_broker_profiles_keep_replication_factor_one() -> None:
    for name in ("dev", "test", "secure"):
        profile = stack.profiles(Path("/repo"))[name]
        assert profile.nodes() == [1]
        assert (profile.replication_factor, profile.min_insync_replicas) == (1, 1)
        props = stack._kafka_properties(profile, Path("/d"))
        assert props["default.replication.factor"] == "1"
        assert props["offsets.topic.replication.factor"] == "1"
        assert props["controller.quorum.voters"] == f"1@127.0.0.1:{profile.controller_port}"
        assert profile.bootstrap == f"127.0.0.1:{profile.kafka_port}"


def test_nodes_are_named_and_kept_apart(cluster: stack.Profile) -> None:
    nodes = stack.kafka_nodes(cluster)
    assert [n.name for n in nodes] == ["kafka-1", "kafka-2", "kafka-3"]
    assert len({n.data for n in nodes}) == 3 and len({n.properties for n in nodes}) == 3
    assert [n.address for n in nodes] == cluster.bootstrap.split(",")
    assert {n.log.name for n in nodes} == {"kafka-1.log", "kafka-2.log", "kafka-3.log"}
    assert [n.ports() for n in nodes][1] == [("kafka-2", 23094), ("kafka-2 controller", 23095)]
    # A single-broker profile's one node keeps its name and folder.
    dev = stack.kafka_nodes(stack.profiles(Path("/repo"))["dev"])
    assert [(n.name, n.home) for n in dev] == [("kafka", Path("/repo/.run/kafka"))]


def test_the_nodes_share_one_cluster_id(tmp_path: Path) -> None:
    cluster = stack.profiles(tmp_path)["cluster"]
    ids = {node.cluster_id() for node in stack.kafka_nodes(cluster)}
    assert len(ids) == 1
    assert (cluster.state / "kafka-cluster-id").read_text().strip() in ids


def test_small_heaps_on_two_cores(cluster: stack.Profile) -> None:
    command = stack.kafka_jvm_command(
        "java", Path("/l"), Path("/x.yaml"), Path("/logs"), ["kafka.Kafka"], cluster.kafka_heap
    )
    assert "-Xmx320m" in command and "-Xms320m" in command


def test_every_slot_moves_every_nodes_ports_apart_from_the_others(tmp_path: Path) -> None:
    cluster = stack.profiles(tmp_path)["cluster"]
    seen: set[int] = set()
    for slot in range(SLOT_COUNT):
        moved = cluster.at_slot(slot)
        assert moved.broker_port(3) == 23096 + 10 * slot
        ports = set(moved.ports())
        assert len(ports) == 7 and not ports & seen
        seen |= ports
    assert max(seen) < 30000


def test_topics_are_planned_with_min_isr_two_at_replication_factor_three() -> None:
    plan = stack.plan_topics(all_topics(), {}, replication=3)
    assert [t.name for t in plan.create] == [t.name for t in all_topics()]
    for topic in all_topics():
        config = stack.topic_config(topic, 3)
        assert config == {**topic.config(), "min.insync.replicas": "2"}
        assert "min.insync.replicas" not in stack.topic_config(topic, 1)


def test_a_topic_made_without_min_isr_gets_it_and_one_with_it_is_in_place() -> None:
    topic = all_topics()[0]
    without = {topic.name: stack.ExistingTopic(topic.partitions, topic.config())}
    plan = stack.plan_topics([topic], without, replication=3)
    assert plan.alter == {topic.name: {**topic.config(), "min.insync.replicas": "2"}}
    with_it = {topic.name: stack.ExistingTopic(topic.partitions, stack.topic_config(topic, 3))}
    assert stack.plan_topics([topic], with_it, replication=3).empty
    # At replication factor 1 the catalog's configs alone are in place.
    assert stack.plan_topics([topic], without).empty


def test_min_isr_is_all_replicas_but_one() -> None:
    assert [stack.min_insync_replicas(n) for n in (1, 2, 3, 5)] == [1, 1, 2, 4]


def test_the_plan_summary_says_how_many_replicas() -> None:
    plan = stack.TopicPlan(create=list(all_topics()))
    assert "3 replicas each" in stack.describe_plan(plan, len(all_topics()), 3)
    assert "replicas" not in stack.describe_plan(plan, len(all_topics()))


def test_provision_takes_a_replication_factor_and_cluster_is_a_profile() -> None:
    args = stack.parse_args(["provision", "--bootstrap", "k:9092", "--replication-factor", "3"])
    assert args.replication_factor == 3
    assert stack.parse_args(["--profile", "cluster", "up"]).profile == "cluster"


def test_down_stops_the_nodes_together_and_the_rest_in_order(cluster: stack.Profile) -> None:
    # A node stopped after the other two has lost its quorum and waits out its SIGTERM deadline.
    groups = stack.stop_groups(stack.components(cluster))
    names = [[component.name for component in group] for group in groups]
    assert ["kafka-1", "kafka-2", "kafka-3"] in names
    assert [name for group in names for name in group] == [
        c.name for c in stack.components(cluster)
    ]
    assert all(len(group) == 1 for group in names if group[0] != "kafka-1")


class _Stops:
    def __init__(self, name: str, seen: list[str]) -> None:
        self.name, self.seen = name, seen

    def stop(self) -> str:
        self.seen.append(self.name)
        return f"{self.name} stopped"


def test_stop_together_stops_each_once_and_answers_in_order() -> None:
    seen: list[str] = []
    group = [_Stops(f"kafka-{n}", seen) for n in (1, 2, 3)]
    assert stack.stop_together(group) == ["kafka-1 stopped", "kafka-2 stopped", "kafka-3 stopped"]
    assert sorted(seen) == ["kafka-1", "kafka-2", "kafka-3"]
