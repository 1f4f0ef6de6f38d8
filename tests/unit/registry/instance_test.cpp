// InstanceRecord and RegistryEvent JSON: round trips and validation that names the field.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "registry/instance.h"

namespace smmf::registry {
namespace {

namespace json = boost::json;

InstanceRecord sample() {
  InstanceRecord r;
  r.id = "w1/qwen";
  r.model = "qwen";
  r.type = "embedding";
  r.address = "http://127.0.0.1:8002";
  r.engine = "llama.cpp";
  r.weight = 3;
  r.labels = {{"zone", "a"}};
  r.state = "starting";
  r.worker = "w1";
  r.worker_address = "http://127.0.0.1:8002";
  r.healthy = false;
  r.in_flight = 2;
  r.replicas = 2;
  r.context_length = 4096;
  r.last_heartbeat_ms = 1234;
  r.registered_ms = 1000;
  return r;
}

Error parse_error(std::string_view text) {
  auto r = instance_from_json(json::parse(text));
  EXPECT_FALSE(r) << text;
  return r ? Error{} : r.error();
}

TEST(InstanceJson, RoundTrip) {
  auto r = sample();
  auto back = instance_from_json(to_json(r));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->id, r.id);
  EXPECT_EQ(back->type, "embedding");
  EXPECT_EQ(back->weight, 3);
  EXPECT_EQ(back->labels.at("zone"), "a");
  EXPECT_EQ(back->state, "starting");
  EXPECT_EQ(back->worker_address, r.worker_address);
  EXPECT_FALSE(back->healthy);
  EXPECT_EQ(back->in_flight, 2);
  EXPECT_EQ(back->replicas, 2);
  EXPECT_EQ(back->context_length, 4096);
  EXPECT_EQ(back->last_heartbeat_ms, 1234);
  EXPECT_EQ(back->registered_ms, 1000);
}

TEST(InstanceJson, MinimalRegistrationGetsDefaults) {
  auto r = instance_from_json(
      json::parse(R"({"id":"a","model":"m","address":"https://api.example.com/v1/"})"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->type, "llm");
  EXPECT_EQ(r->state, "running");
  EXPECT_EQ(r->weight, 1);
  EXPECT_EQ(r->address, "https://api.example.com/v1");  // trailing slash dropped
}

TEST(InstanceJson, ValidationNamesTheField) {
  auto e = parse_error(R"({"id":"a","model":"m","address":"ftp://x"})");
  EXPECT_EQ(e.param, "address");
  EXPECT_EQ(e.message, "address must be an http(s) URL");
  EXPECT_EQ(e.code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(parse_error(R"({"model":"m","address":"http://x"})").param, "id");
  EXPECT_EQ(parse_error(R"({"id":"","model":"m","address":"http://x"})").param, "id");
  EXPECT_EQ(parse_error(R"({"id":"a","address":"http://x"})").param, "model");
  EXPECT_EQ(parse_error(R"({"id":"a","model":"m","address":"http://"})").param, "address");
  EXPECT_EQ(parse_error(R"({"id":"a","model":"m","address":"http://x","type":"tts"})").param,
            "type");
  EXPECT_EQ(parse_error(R"({"id":"a","model":"m","address":"http://x","weight":1001})").param,
            "weight");
  EXPECT_EQ(parse_error(R"({"id":"a","model":"m","address":"http://x","weight":"2"})").param,
            "weight");
  EXPECT_EQ(parse_error(R"({"id":"a","model":"m","address":"http://x","labels":{"k":1}})").param,
            "labels.k");
  EXPECT_EQ(parse_error(R"({"id":"a","model":"m","address":"http://x","state":"up"})").param,
            "state");
  EXPECT_EQ(
      parse_error(R"({"id":"a","model":"m","address":"http://x","worker_address":"x"})").param,
      "worker_address");
  EXPECT_EQ(parse_error(R"({"id":"a","model":"m","address":"http://x","healthy":1})").param,
            "healthy");
  EXPECT_FALSE(instance_from_json(json::parse("[1]")));
}

TEST(EventJson, PutAndDeleteRoundTrip) {
  RegistryEvent put{7, EventKind::kPut, sample()};
  auto p = event_from_json(to_json(put));
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->revision, 7u);
  EXPECT_EQ(p->kind, EventKind::kPut);
  EXPECT_EQ(p->record.id, "w1/qwen");

  RegistryEvent del{8, EventKind::kDelete, sample()};
  auto j = to_json(del);
  EXPECT_EQ(j.at("type").as_string(), "delete");
  EXPECT_EQ(j.at("instance").as_object().size(), 2u);  // id and model only
  auto d = event_from_json(j);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->kind, EventKind::kDelete);
  EXPECT_EQ(d->record.id, "w1/qwen");
  EXPECT_EQ(d->record.model, "qwen");

  auto bad = event_from_json(
      json::parse(R"({"revision":1,"type":"put","instance":{"id":"a","model":"m"}})"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().param, "instance.address");
  EXPECT_FALSE(event_from_json(json::parse(R"({"revision":-1,"type":"put","instance":{}})")));
  EXPECT_FALSE(event_from_json(json::parse(R"({"revision":1,"type":"x","instance":{}})")));
}

TEST(Instance, HeartbeatBody) {
  auto hb = heartbeat_from_json(json::parse(R"({"state":"running","in_flight":3})"));
  ASSERT_TRUE(hb) << hb.error().message;
  EXPECT_EQ(hb->state, "running");
  EXPECT_EQ(hb->in_flight, 3);
  auto empty = heartbeat_from_json(json::value(nullptr));
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->state, "");
  EXPECT_EQ(empty->in_flight, -1);
  auto bad_state = heartbeat_from_json(json::parse(R"({"state":"dancing"})"));
  ASSERT_FALSE(bad_state);
  EXPECT_EQ(bad_state.error().param, "state");
  auto bad_n = heartbeat_from_json(json::parse(R"({"in_flight":-1})"));
  ASSERT_FALSE(bad_n);
  EXPECT_EQ(bad_n.error().param, "in_flight");
  EXPECT_FALSE(heartbeat_from_json(json::parse("[]")));
}

}  // namespace
}  // namespace smmf::registry
