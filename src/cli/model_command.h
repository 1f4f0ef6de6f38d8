#pragma once
/// `smmf model ...`: a command-line client of a controller (or of `smmf serve`, which answers
/// the same routes) and of the OpenAI API:
///   list                      the registered instances as a table (or JSON)
///   start|stop|restart NAME   a model on the workers hosting it
///   scale NAME --replicas N   the replicas of a model on its workers
///   chat NAME                 an interactive streaming chat REPL (see model_chat.h)
/// Exit codes: 0 done, 1 the server was unreachable or answered an error, 2 bad arguments.
#include <CLI/CLI.hpp>

#include <string>

#include "cli/model_chat.h"
#include "cli/model_client.h"

namespace smmf::cli {

struct ModelOptions {
  std::string command;  ///< the subcommand parsed: list|start|stop|restart|scale|chat
  std::string controller;
  std::string api_key;       ///< --api-key; empty = $SMMF_API_KEY
  std::string filter_model;  ///< list --model
  bool json = false;         ///< list --json
  std::string name;          ///< the model of an action
  std::string worker;
  int replicas = -1;
  ChatOptions chat;
};

void add_model_command(CLI::App& app, ModelOptions& opts);
int run_model(const ModelOptions& opts);

}  // namespace smmf::cli
