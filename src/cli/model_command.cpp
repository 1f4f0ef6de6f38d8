#include "cli/model_command.h"

#include <fmt/format.h>

#include <chrono>
#include <iostream>

#include "cli/model_format.h"
#include "cli/worker_command.h"

namespace smmf::cli {

namespace {

constexpr std::string_view kControllerHelp =
    "Controller URL, or the URL of `smmf serve` (default: $SMMF_CONTROLLER, else "
    "http://127.0.0.1:8001)";

CLI::App* add_sub(CLI::App& parent, ModelOptions& o, const std::string& name,
                  const std::string& description) {
  auto* cmd = parent.add_subcommand(name, description);
  cmd->callback([&o, name] { o.command = name; });
  cmd->add_option("--controller", o.controller, std::string(kControllerHelp));
  cmd->add_option("--api-key", o.api_key,
                  "API key with the admin scope, or the cluster token (default: $SMMF_API_KEY)");
  return cmd;
}

void add_list(CLI::App& model, ModelOptions& o) {
  auto* cmd = add_sub(model, o, "list",
                      "List the registered model instances: state, health, in-flight requests,\n"
                      "last heartbeat.");
  cmd->add_option("--model", o.filter_model, "Only the instances of this model");
  cmd->add_flag("--json", o.json, "Print the instance records as a JSON array");
}

void add_action(CLI::App& model, ModelOptions& o, const std::string& name,
                const std::string& description) {
  auto* cmd = add_sub(model, o, name, description);
  cmd->add_option("NAME", o.name, "Model name")->required();
  cmd->add_option("--worker", o.worker,
                  "Only on this worker (its id or address; default: every worker hosting it)");
  if (name == "scale")
    cmd->add_option("--replicas", o.replicas, "Number of replicas on each worker")
        ->required()
        ->check(CLI::Range(0, 1024));
}

void add_chat(CLI::App& model, ModelOptions& o) {
  auto* cmd = model.add_subcommand(
      "chat",
      "Chat with a model interactively: each reply streams token by token, followed by its\n"
      "token count, latency and speed. Commands: /system TEXT, /clear, /help, /exit.\n"
      "Reads stdin line by line, so input can be piped.");
  cmd->callback([&o] { o.command = "chat"; });
  cmd->add_option("NAME", o.chat.model, "Model name")->required();
  cmd->add_option("--api", o.chat.api,
                  "OpenAI API URL: `smmf serve` or `smmf start apiserver` (default: $SMMF_API, "
                  "else http://127.0.0.1:8000)");
  cmd->add_option("--api-key", o.chat.api_key,
                  "API key with the inference scope (default: $SMMF_API_KEY)");
  cmd->add_option("--system", o.chat.system, "System prompt");
  cmd->add_option("--max-tokens", o.chat.max_tokens, "Maximum tokens per reply")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--temperature", o.chat.temperature, "Sampling temperature (0 = greedy)")
      ->check(CLI::Range(0.0, 2.0));
}

int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<net::Url> controller_of(const ModelOptions& o) {
  auto url = net::parse_url(controller_url(o.controller));
  if (!url) return Error::invalid(fmt::format("--controller: {}", url.error().message));
  return url;
}

int run_list(const ModelOptions& o, const net::Url& controller) {
  BlockingRunner runner(client_options_with_key(o.api_key));
  auto data = runner.run(list_instances(runner.http(), controller, o.filter_model));
  if (!data) {
    std::cerr << "smmf model list: " << data.error().message << "\n";
    return 1;
  }
  if (o.json) {
    std::cout << pretty_json(*data);
  } else if (data->empty()) {
    std::cout << (o.filter_model.empty()
                      ? std::string("no model instances registered\n")
                      : fmt::format("no instances of model '{}' registered\n", o.filter_model));
  } else {
    std::cout << instances_table(*data, unix_now_ms());
  }
  return 0;
}

std::string past_tense(ModelAction a, int replicas) {
  switch (a) {
    case ModelAction::kStart:
      return "started";
    case ModelAction::kStop:
      return "stopped";
    case ModelAction::kRestart:
      return "restarted";
    case ModelAction::kScale:
      return fmt::format("scaled to {} replica(s)", replicas);
  }
  return "done";
}

int run_action(const ModelOptions& o, const net::Url& controller, ModelAction action) {
  ActionRequest req{o.name, action, o.worker, o.replicas};
  BlockingRunner runner(client_options_with_key(o.api_key));
  auto reply = runner.run(model_action(runner.http(), controller, req));
  const std::string who = fmt::format("smmf model {}", to_string(action));
  if (!reply) {
    std::cerr << who << ": " << reply.error().message << "\n";
    return 1;
  }
  if (reply->succeeded > 0)
    std::cout << fmt::format("model {}: {} on {} worker(s)\n", o.name,
                             past_tense(action, o.replicas), reply->succeeded);
  if (reply->ok) return 0;
  if (reply->failures.empty()) std::cerr << who << ": " << reply->error << "\n";
  for (const auto& f : reply->failures) std::cerr << who << ": " << f << "\n";
  return 1;
}

}  // namespace

void add_model_command(CLI::App& app, ModelOptions& o) {
  auto* model = app.add_subcommand(
      "model",
      "Manage models through a controller (or `smmf serve`) and chat with them:\n"
      "list, start, stop, restart, scale, chat.");
  model->require_subcommand(1);
  add_list(*model, o);
  add_action(*model, o, "start", "Start a model on the workers hosting it.");
  add_action(*model, o, "stop", "Stop a model on the workers hosting it (it stops serving).");
  add_action(*model, o, "restart",
             "Restart a model on the workers hosting it (the old instance serves until\n"
             "the new one runs, where resources allow).");
  add_action(*model, o, "scale", "Set the number of replicas of a model on its workers.");
  add_chat(*model, o);
}

int run_model(const ModelOptions& o) {
  if (o.command == "chat") return run_chat(o.chat, std::cin, std::cout, std::cerr);
  auto controller = controller_of(o);
  if (!controller) {
    std::cerr << "smmf model " << o.command << ": " << controller.error().message << "\n";
    return 2;
  }
  if (o.command == "list") return run_list(o, *controller);
  if (o.command == "start") return run_action(o, *controller, ModelAction::kStart);
  if (o.command == "stop") return run_action(o, *controller, ModelAction::kStop);
  if (o.command == "restart") return run_action(o, *controller, ModelAction::kRestart);
  if (o.command == "scale") return run_action(o, *controller, ModelAction::kScale);
  std::cerr << "smmf model: unknown subcommand '" << o.command << "'\n";
  return 2;
}

}  // namespace smmf::cli
