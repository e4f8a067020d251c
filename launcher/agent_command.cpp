// Launch agent command line: word splitting and OpenSSH defaults.
#include "launcher/agent_command.hpp"

namespace camure::launcher {

bool split_words(const std::string &text, std::vector<std::string> &out) {
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quote) {
      if (c == quote) quote = 0;
      else if (c == '\\' && quote == '"' && i + 1 < text.size()) cur += text[++i];
      else cur += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == '\\' && i + 1 < text.size()) {
      cur += text[++i];
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) out.push_back(cur);
      cur.clear();
      in_word = false;
    } else {
      cur += c;
      in_word = true;
    }
  }
  if (quote) return false;
  if (in_word) out.push_back(cur);
  return true;
}

bool is_ssh_agent(const std::string &agent) {
  const auto slash = agent.rfind('/');
  return (slash == std::string::npos ? agent : agent.substr(slash + 1)) == "ssh";
}

const std::vector<std::string> &SshDefaults::flags() {
  static const std::vector<std::string> f = {"-T", "-x", "-a"};
  return f;
}

const std::vector<std::string> &SshDefaults::settings() {
  static const std::vector<std::string> s = {
      "-o", "BatchMode=yes",            // never wait for a password or passphrase prompt
      "-o", "GSSAPIAuthentication=no",  // Debian's ssh_config turns it on: a Kerberos attempt per host
      "-o", "Compression=no",           // frames are small; zlib only costs CPU
      "-o", "UpdateHostKeys=no",        // no host-key rotation exchange after the login
      // OpenSSH's own list without the post-quantum hybrids: sntrup761x25519 (the default of
      // OpenSSH 9.0-9.8) costs ~80 ms of CPU per connection on a small VM, on both ends,
      // against ~1 ms for curve25519. Every name here is known to OpenSSH >= 7.4. Override
      // with --ssh-opts "-o KexAlgorithms=..." where a post-quantum exchange is wanted.
      "-o", "KexAlgorithms=curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,"
            "ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,"
            "diffie-hellman-group18-sha512,diffie-hellman-group14-sha256",
  };
  return s;
}

bool build_agent_command(const std::string &launch_agent, const std::string &ssh_opts, std::vector<std::string> &argv,
                         std::string &why) {
  argv.clear();
  if (!split_words(launch_agent, argv) || argv.empty()) {
    why = "--launch-agent: cannot parse '" + launch_agent + "'";
    return false;
  }
  const bool ssh = is_ssh_agent(argv.front());
  if (ssh) argv.insert(argv.end(), SshDefaults::flags().begin(), SshDefaults::flags().end());
  if (!split_words(ssh_opts, argv)) {
    why = "--ssh-opts: unbalanced quotes in '" + ssh_opts + "'";
    return false;
  }
  if (ssh) argv.insert(argv.end(), SshDefaults::settings().begin(), SshDefaults::settings().end());
  return true;
}

} // namespace camure::launcher
