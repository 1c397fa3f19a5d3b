// Termination signals for long-running subcommands: blocked in every thread (call before
// starting any) and taken synchronously with sigwait by the main thread.
#pragma once

#include <csignal>

namespace warden::cli {

// Blocks SIGINT, SIGTERM and SIGHUP for this thread and those it starts; ignores SIGPIPE.
sigset_t blockTerminationSignals();
// Waits for one of the blocked signals and returns it.
int waitForSignal(const sigset_t& signals);

}  // namespace warden::cli
