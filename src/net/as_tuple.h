#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace smmf::net {

/// The completion token of the net room's co_awaits: the error code comes back in a tuple
/// instead of as an exception. One definition for the room (a unity build compiles its sources
/// as one translation unit, where per-file copies would clash).
inline constexpr auto kTuple = boost::asio::as_tuple(boost::asio::use_awaitable);

}  // namespace smmf::net
