// Anchor source so libcamure has a source of its own; its content comes from the layer libraries.
namespace camure::detail { [[maybe_unused]] int library_anchor = 0; }
