// The launch agent's command line (ssh and its options) before the host name.
#pragma once

#include <string>
#include <vector>

namespace camure::launcher {

/// Splits a command/options string into words as a shell would: blanks separate, '...' and
/// "..." group, backslash escapes; no expansions. False on unbalanced quotes.
bool split_words(const std::string &text, std::vector<std::string> &out);

/// Whether `agent` (a path or a name) is OpenSSH's client: its file name is `ssh`.
bool is_ssh_agent(const std::string &agent);

/// Options camurerun gives OpenSSH for a fast, never-interactive session (no tty, no X11 or
/// agent forwarding, no prompts, no Kerberos attempt, no compression, no host-key rotation
/// round trip). `-T -x -a` go before the user's options (a later -t/-X/-A wins), the `-o`
/// settings after them (ssh keeps the first value it sees, so the user's -o wins).
struct SshDefaults {
  static const std::vector<std::string> &flags();
  static const std::vector<std::string> &settings();
};

/// The agent's argv up to (not including) the host: `launch_agent` split into words, then for
/// ssh the default flags, then `ssh_opts` split into words, then for ssh the default settings.
/// False with a one-line reason in `why` on an empty agent or unbalanced quotes.
bool build_agent_command(const std::string &launch_agent, const std::string &ssh_opts, std::vector<std::string> &argv,
                         std::string &why);

} // namespace camure::launcher
