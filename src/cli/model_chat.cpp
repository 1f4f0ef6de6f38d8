#include "cli/model_chat.h"

#include <fmt/format.h>
#include <unistd.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <iostream>

#include "cli/model_client.h"
#include "protocol/openai_client_json.h"
#include "protocol/sse.h"

namespace smmf::cli {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr std::string_view kChatPath = "/v1/chat/completions";
constexpr std::string_view kHelp =
    "Type a message and press Enter; the reply streams back. Commands:\n"
    "  /system [TEXT]  set the system prompt (without TEXT: remove it)\n"
    "  /clear          forget the conversation (keeps the system prompt)\n"
    "  /help           this help\n"
    "  /exit           quit (also /quit, or Ctrl-D)\n";

std::string trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

/// The message of an error event's data, or the data itself.
std::string event_error_message(const std::string& data) {
  std::string m = error_message(0, data);
  return m == "HTTP 0" ? std::string("the server reported an error") : m;
}

/// One SSE event of the reply: prints choice 0's text as it arrives.
Status on_event(const protocol::SseEvent& ev, ReplyStats& stats, int& deltas, bool& done,
                std::ostream& out) {
  if (ev.event == "error") return Error::unavailable(event_error_message(ev.data));
  if (ev.data == "[DONE]") {
    done = true;
    return {};
  }
  boost::system::error_code ec;
  json::value v = json::parse(ev.data, ec);
  if (ec) return Error::unavailable(fmt::format("the server sent a non-JSON event: {}", ev.data));
  if (v.is_object() && v.get_object().contains("error"))
    return Error::unavailable(event_error_message(ev.data));
  auto chunk = protocol::parse_stream_chunk(v);
  if (!chunk) return chunk.error();
  for (const auto& d : chunk->deltas) {
    if (d.index != 0) continue;
    if (!d.text.empty()) {
      out << d.text << std::flush;
      stats.text += d.text;
      ++deltas;
    }
    if (d.finish_reason) stats.finish = d.finish_reason;
  }
  if (chunk->usage) {
    stats.completion_tokens = chunk->usage->completion_tokens;
    stats.usage_reported = true;
  }
  return {};
}

/// Streams one reply into `stats` (its text is printed to `out` as it comes).
asio::awaitable<Status> stream_reply(net::HttpClient& http, const net::Url& api, std::string body,
                                     ReplyStats& stats, std::ostream& out) {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  net::ClientRequest request = net::ClientRequest::post(std::string(kChatPath), std::move(body));
  request.headers.emplace_back("Accept", "text/event-stream");
  auto opened = co_await http.open(api, std::move(request));
  if (!opened) co_return Error::unavailable(unreachable_message("API", api, opened.error()));
  net::ResponseStream& stream = **opened;
  if (stream.status() != 200) {
    auto rest = co_await stream.read_all();
    // Named, not a ?: temporary in the co_return: GCC 12 may destroy that twice.
    std::string text = rest ? std::move(*rest) : std::string();
    co_return Error::unavailable(error_message(stream.status(), text));
  }
  protocol::SseParser parser;
  std::vector<protocol::SseEvent> events;
  int deltas = 0;
  bool done = false;
  while (!done) {
    auto piece = co_await stream.read();
    if (!piece) co_return piece.error();
    if (piece->empty()) break;
    events.clear();
    if (!parser.feed(*piece, events)) co_return Error::unavailable("a stream event is too large");
    for (const auto& ev : events) {
      if (auto st = on_event(ev, stats, deltas, done, out); !st) co_return st.error();
      if (done) break;
    }
  }
  if (!done) co_return Error::unavailable("the stream ended before [DONE]");
  if (!stats.usage_reported) stats.completion_tokens = deltas;
  stats.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  co_return Status{};
}

class ChatRepl {
 public:
  ChatRepl(const ChatOptions& opts, net::Url api, std::istream& in, std::ostream& out,
           std::ostream& err, bool tty_in, bool tty_out)
      : opts_(opts),
        api_(std::move(api)),
        in_(in),
        out_(out),
        err_(err),
        tty_in_(tty_in),
        tty_out_(tty_out),
        conversation_(opts.system),
        runner_(client_options_with_key(opts.api_key)) {}

  int run() {
    if (tty_in_)
      note(fmt::format("chatting with {} at {}; /help for commands", opts_.model, api_.origin()));
    std::string line;
    while (true) {
      out_ << "> " << std::flush;
      if (!std::getline(in_, line)) {
        out_ << "\n";  // the shell's prompt (or the end of a transcript) on a line of its own
        break;
      }
      if (!tty_in_) out_ << line << "\n";  // a piped transcript reads like a typed one
      std::string text = trim(line);
      if (text.empty()) continue;
      if (text[0] == '/') {
        if (!command(text)) break;
        continue;
      }
      send(text);
    }
    out_ << std::flush;
    return 0;
  }

 private:
  /// Returns false for /exit.
  bool command(const std::string& text) {
    size_t space = text.find(' ');
    std::string name = text.substr(0, space);
    std::string arg = space == std::string::npos ? std::string() : trim(text.substr(space + 1));
    if (name == "/exit" || name == "/quit") return false;
    if (name == "/help") {
      out_ << kHelp;
    } else if (name == "/clear") {
      conversation_.clear();
      note("conversation cleared");
    } else if (name == "/system") {
      conversation_.set_system(arg);
      note(arg.empty() ? "system prompt removed" : "system prompt set");
    } else {
      err_ << "error: unknown command " << name << " (/help lists the commands)\n";
    }
    return true;
  }

  void send(const std::string& user) {
    protocol::ChatRequest req;
    req.messages = conversation_.with(user);
    req.gen.max_tokens = opts_.max_tokens;
    req.gen.sampling.temperature = opts_.temperature;
    std::string body = protocol::chat_request_text(req, opts_.model, true);
    ReplyStats stats;
    Status st = runner_.run(stream_reply(runner_.http(), api_, std::move(body), stats, out_));
    if (!stats.text.empty()) out_ << "\n";
    if (!st) {
      out_ << std::flush;
      err_ << "error: " << st.error().message << "\n" << std::flush;
      return;
    }
    note(format_footer(stats));
    conversation_.add_turn(user, std::move(stats.text));
  }

  /// A dim line on a terminal, plain otherwise.
  void note(const std::string& text) {
    if (tty_out_)
      out_ << "\033[2m" << text << "\033[0m\n" << std::flush;
    else
      out_ << text << "\n" << std::flush;
  }

  const ChatOptions& opts_;
  net::Url api_;
  std::istream& in_;
  std::ostream& out_;
  std::ostream& err_;
  bool tty_in_;
  bool tty_out_;
  Conversation conversation_;
  BlockingRunner runner_;
};

}  // namespace

std::string api_url(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("SMMF_API"); env && *env) return env;
  return "http://127.0.0.1:8000";
}

std::vector<protocol::ChatMessage> Conversation::with(const std::string& user) const {
  std::vector<protocol::ChatMessage> messages;
  if (!system_.empty()) messages.push_back({"system", system_, {}});
  for (const auto& [u, a] : turns_) {
    messages.push_back({"user", u, {}});
    messages.push_back({"assistant", a, {}});
  }
  messages.push_back({"user", user, {}});
  return messages;
}

void Conversation::add_turn(std::string user, std::string assistant) {
  turns_.emplace_back(std::move(user), std::move(assistant));
}

std::string format_footer(const ReplyStats& s) {
  double rate = s.seconds > 0 ? s.completion_tokens / s.seconds : 0.0;
  std::string out = fmt::format("[{} tokens, {:.2f} s, {:.0f} tok/s", s.completion_tokens,
                                s.seconds, std::round(rate));
  if (s.finish == protocol::FinishReason::kLength) out += ", finish: length";
  return out + "]";
}

int run_chat(const ChatOptions& opts, std::istream& in, std::ostream& out, std::ostream& err) {
  std::string text = api_url(opts.api);
  auto api = net::parse_url(text);
  if (!api) {
    err << "smmf model chat: --api: " << api.error().message << "\n";
    return 2;
  }
  // The routes are under /v1 already: accept "http://host:port/v1" as users often write it.
  if (api->path.ends_with("/v1")) api->path.resize(api->path.size() - 3);
  const bool tty_in = &in == &std::cin && ::isatty(STDIN_FILENO);
  const bool tty_out = &out == &std::cout && ::isatty(STDOUT_FILENO);
  ChatRepl repl(opts, *api, in, out, err, tty_in, tty_out);
  return repl.run();
}

}  // namespace smmf::cli
