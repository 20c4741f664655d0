#include "testbenches/config/config_loader.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <map>
#include <optional>
#include <sstream>
#include <string_view>
#include <unordered_set>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "models/arch/registers.h"
#include "models/arch/ste.h"
#include "models/smmu/translation/translation_unit.h"
#include "testbenches/config/input_error.h"
#include "testbenches/config/lifetime_records.h"
#include "testbenches/config/numbers.h"

namespace smmu::sim {

namespace {

// The merged document. yaml-cpp nodes only know their line, not their file,
// and merging several files loses even that, so every node carries its origin.
struct Entry;
struct Node {
    enum class Kind { Null, Scalar, Seq, Map } kind = Kind::Null;
    std::string scalar;
    std::vector<Node> items;     // Seq
    std::vector<Entry> entries;  // Map, in file order
    std::string where;           // "file:line" or "--set key=value"
    unsigned order = 0;          // which source set it: the files in order, then each --set

    Entry* find(std::string_view key);
    const Entry* find(std::string_view key) const;
};
struct Entry {
    std::string key;
    std::string where;  // of the key, for "unknown key" errors
    Node value;
};

Entry* Node::find(std::string_view key) {
    for (Entry& e : entries)
        if (e.key == key) return &e;
    return nullptr;
}
const Entry* Node::find(std::string_view key) const { return const_cast<Node*>(this)->find(key); }

// ---------------------------------------------------------------------------
// Reading YAML into Nodes, merging, --set.

// Where a YAML node came from: a file (lines count) or a --set argument (they don't).
struct Origin {
    std::string name;
    bool has_lines;
    unsigned order;  // Node::order
    std::string at(const YAML::Mark& m) const { return has_lines ? where(name, m.line + 1) : name; }
    mutable std::size_t nodes = 0;  // converted so far (see kMaxYamlNodes)
};

// A config is a small tree. A YAML alias inside the node it names (`a: &x [*x]`)
// makes it infinite, and aliases of aliases make it exponential ("billion
// laughs"): both are input errors, not a stack overflow or a hang (found by
// fuzz/config_loader, docs/fuzzing.md).
constexpr unsigned kMaxYamlDepth = 64;
constexpr std::size_t kMaxYamlNodes = 100000;

// The document as Nodes, built from the parser's events: YAML::Load would
// first build yaml-cpp's own node graph (shared_ptr nodes), three times the
// parser's cost on a config of 4096 devices (docs/performance.md, "Scale").
// Every node counts towards kMaxYamlNodes (map keys do not), an alias as the
// nodes it repeats.
class NodeBuilder : public YAML::EventHandler {
public:
    explicit NodeBuilder(const Origin& origin) : origin_(origin) { root_.where = origin.at(YAML::Mark::null_mark()); }
    Node& root() { return root_; }

    void OnDocumentStart(const YAML::Mark&) override {}
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override { add(start(mark, Node::Kind::Null), 1, anchor); }
    void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor, const std::string& value) override {
        Node n = start(mark, Node::Kind::Scalar);
        n.scalar = value;
        add(std::move(n), 1, anchor);
    }
    void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
        const std::string at = origin_.at(mark);
        auto it = anchors_.find(anchor);
        // An alias inside the node it names (`a: &x [*x]`) is an infinite tree.
        if (it == anchors_.end()) too_big(at);
        const Anchored& a = it->second;
        if (open_.size() + a.height - 1 > kMaxYamlDepth || (!key_next() && (origin_.nodes += a.size) > kMaxYamlNodes))
            too_big(at);
        add(a.node, a.height, 0);
    }
    void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                         YAML::EmitterStyle::value) override {
        open(mark, Node::Kind::Seq, anchor);
    }
    void OnSequenceEnd() override { close(); }
    void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor, YAML::EmitterStyle::value) override {
        open(mark, Node::Kind::Map, anchor);
    }
    void OnMapEnd() override { close(); }

private:
    struct Open {
        Node node;
        YAML::anchor_t anchor;
        unsigned height;        // the tallest child's, so far
        std::size_t nodes_at;   // origin_.nodes before this node
        std::optional<std::string> key, key_where;  // a map's key awaiting its value
        std::unordered_set<std::string> keys;       // a map's keys so far
    };
    struct Anchored {
        Node node;
        unsigned height;   // levels, itself included
        std::size_t size;  // nodes, itself included
    };

    [[noreturn]] static void too_big(const std::string& at) {
        throw InputError(at + ": YAML nested deeper than " + std::to_string(kMaxYamlDepth) + " levels or over " +
                         std::to_string(kMaxYamlNodes) + " nodes (a recursive or exponential alias?)");
    }
    // The next node completes a map's key, not a value.
    bool key_next() const { return !open_.empty() && open_.back().node.kind == Node::Kind::Map && !open_.back().key; }
    Node start(const YAML::Mark& mark, Node::Kind kind) {
        Node n;
        n.kind = kind;
        n.where = origin_.at(mark);
        n.order = origin_.order;
        if (open_.size() > kMaxYamlDepth || (!key_next() && ++origin_.nodes > kMaxYamlNodes)) too_big(n.where);
        return n;
    }
    void open(const YAML::Mark& mark, Node::Kind kind, YAML::anchor_t anchor) {
        const std::size_t before = origin_.nodes;
        Node n = start(mark, kind);
        open_.push_back({std::move(n), anchor, 0, before, {}, {}, {}});
    }
    void close() {
        Open o = std::move(open_.back());
        open_.pop_back();
        // A key's nodes do not count (it is refused below anyway).
        const std::size_t size = origin_.nodes - o.nodes_at;
        if (o.anchor) anchors_[o.anchor] = {o.node, o.height + 1, size};
        add(std::move(o.node), o.height + 1, 0);
    }
    void add(Node n, unsigned height, YAML::anchor_t anchor) {
        if (anchor) anchors_[anchor] = {n, height, n.kind == Node::Kind::Null || n.kind == Node::Kind::Scalar ? 1u : 0u};
        if (open_.empty()) {
            root_ = std::move(n);
            return;
        }
        Open& top = open_.back();
        top.height = std::max(top.height, height);
        if (top.node.kind == Node::Kind::Seq) {
            top.node.items.push_back(std::move(n));
        } else if (!top.key) {
            if (n.kind != Node::Kind::Scalar) throw InputError(n.where + ": map keys must be plain names");
            // yaml-cpp keeps both copies of a repeated key; one would silently win.
            if (!top.keys.insert(n.scalar).second) throw InputError(n.where + ": duplicate key '" + n.scalar + "'");
            top.key = std::move(n.scalar);
            top.key_where = std::move(n.where);
        } else {
            top.node.entries.push_back({std::move(*top.key), std::move(*top.key_where), std::move(n)});
            top.key.reset();
        }
    }

    const Origin& origin_;
    Node root_;
    std::vector<Open> open_;
    std::map<YAML::anchor_t, Anchored> anchors_;
};

// One YAML document from `in` as Nodes; YAML::ParserException on a syntax error.
Node parse(std::istream& in, const Origin& origin) {
    YAML::Parser parser(in);
    NodeBuilder b(origin);
    parser.HandleNextDocument(b);
    return std::move(b.root());
}

void merge_into(Node& dst, Node src) {
    if (dst.kind != Node::Kind::Map || src.kind != Node::Kind::Map) {
        dst = std::move(src);
        return;
    }
    for (Entry& e : src.entries) {
        if (Entry* old = dst.find(e.key)) {
            old->where = e.where;
            merge_into(old->value, std::move(e.value));
        } else {
            dst.entries.push_back(std::move(e));
        }
    }
}

Node read_file(const std::string& file, unsigned order) {
    if (!std::filesystem::exists(file)) throw InputError("missing file '" + file + "'");
    std::ifstream in(file);
    if (!in || std::filesystem::is_directory(file)) throw InputError("cannot read file '" + file + "'");
    Node n;
    try {
        n = parse(in, {file, true, order});
    } catch (const YAML::ParserException& e) {
        throw InputError(where(file, e.mark.line + 1) + ": YAML syntax error: " + e.msg);
    }
    if (n.kind == Node::Kind::Null) n.kind = Node::Kind::Map;  // an empty file sets nothing
    if (n.kind != Node::Kind::Map) throw InputError(n.where + ": the top level must be a map of settings");
    return n;
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (;;) {
        const std::size_t end = s.find(sep, start);
        parts.push_back(s.substr(start, end - start));
        if (end == std::string::npos) return parts;
        start = end + 1;
    }
}

void apply_set(Node& root, const std::string& arg, unsigned order) {
    const std::size_t eq = arg.find('=');
    if (eq == std::string::npos || eq == 0) throw InputError("--set: '" + arg + "' is not key=value");
    const std::string origin = "--set " + arg;
    const std::vector<std::string> path = split(arg.substr(0, eq), '.');
    for (const std::string& part : path)
        if (part.empty()) throw InputError(origin + ": empty component in key '" + arg.substr(0, eq) + "'");

    Node value;
    try {
        std::istringstream in(arg.substr(eq + 1));
        value = parse(in, {origin, false, order});
    } catch (const YAML::ParserException& e) {
        throw InputError(origin + ": YAML syntax error: " + e.msg);
    }

    Node* cur = &root;
    std::string walked;
    for (const std::string& part : path) {
        if (cur->kind == Node::Kind::Seq) {
            const std::optional<uint64_t> i = parse_uint(part);
            if (!i || *i >= cur->items.size())
                throw InputError(origin + ": " + walked + " is a list of " + std::to_string(cur->items.size()) +
                                 ", '" + part + "' is not an index into it");
            cur = &cur->items[*i];
        } else {
            if (cur->kind == Node::Kind::Null) cur->kind = Node::Kind::Map;
            if (cur->kind != Node::Kind::Map) throw InputError(origin + ": " + walked + " is not a map");
            Entry* e = cur->find(part);
            if (!e) {
                cur->entries.push_back({part, origin, Node{}});
                e = &cur->entries.back();
                e->value.where = origin;
                e->value.order = order;
            }
            cur = &e->value;
        }
        walked += (walked.empty() ? "" : ".") + part;
    }
    merge_into(*cur, std::move(value));
}

// ---------------------------------------------------------------------------
// Typed reading with "where: field: problem" errors.

[[noreturn]] void fail(const std::string& at, const std::string& field, const std::string& problem) {
    throw InputError(at + ": " + field + ": " + problem);
}

// A setting a check involves: its node (null: left at its default) and its name.
struct Setting {
    const Node* node = nullptr;
    std::string field;
};

// A check that relates several settings blames the one given last: a later
// --config or a --set changed it, not the file that set the others. Ties (one
// file) go to the first listed.
[[noreturn]] void fail_latest(const std::vector<Setting>& settings, const std::string& problem) {
    const Setting* pick = nullptr;
    for (const Setting& s : settings)
        if (s.node && (!pick || s.node->order > pick->node->order)) pick = &s;
    if (!pick) throw InputError("config: " + problem);
    fail(pick->node->where, pick->field, problem);
}

// Of two settings, the one given later (null: a default, never later).
Setting later(const Setting& a, const Setting& b) { return b.node && (!a.node || b.node->order > a.node->order) ? b : a; }

// The setting given last anywhere under `n` (a list or map that a later file
// or --set may have changed in part), named by its path.
Setting latest_in(const Node& n, const std::string& path) {
    Setting best{&n, path};
    for (std::size_t i = 0; i < n.items.size(); ++i)
        best = later(best, latest_in(n.items[i], path + "[" + std::to_string(i) + "]"));
    for (const Entry& e : n.entries) best = later(best, latest_in(e.value, path + "." + e.key));
    return best;
}

// Two entries clash over one value (a VMID, a StreamID...): the one given
// last is blamed (`mine` on a tie, the entry read later), and the message
// names the other: `say(other_name, other_where)`.
template <class Say>
[[noreturn]] void fail_clash(const Setting& mine, const std::string& my_name, const std::string& my_where,
                             const Setting& other, const std::string& other_name, const std::string& other_where,
                             Say say) {
    if (later(mine, other).node == other.node && other.node != mine.node)
        fail(other.node->where, other.field, say(my_name, my_where));
    fail(mine.node ? mine.node->where : my_where, mine.field, say(other_name, other_where));
}

std::string describe(const Node& v) {
    switch (v.kind) {
        case Node::Kind::Null: return "nothing";
        case Node::Kind::Scalar: return "'" + v.scalar + "'";
        case Node::Kind::Seq: return "a list";
        case Node::Kind::Map: return "a map";
    }
    return "?";
}

uint64_t to_uint(const Node& v, const std::string& field) {
    std::optional<uint64_t> n;
    if (v.kind == Node::Kind::Scalar) n = parse_uint(v.scalar);
    if (!n) fail(v.where, field, "expected an unsigned integer, got " + describe(v));
    return *n;
}

uint64_t to_uint(const Node& v, const std::string& field, uint64_t lo, uint64_t hi) {
    const uint64_t n = to_uint(v, field);
    if (n < lo || n > hi)
        fail(v.where, field, "expected " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " + v.scalar);
    return n;
}

unsigned to_uint_of(const Node& v, const std::string& field, std::initializer_list<unsigned> allowed) {
    const uint64_t n = to_uint(v, field);
    std::string listed;
    for (unsigned a : allowed) {
        if (n == a) return a;
        listed += (listed.empty() ? "" : ", ") + std::to_string(a);
    }
    fail(v.where, field, "expected one of " + listed + ", got " + v.scalar);
}

uint64_t to_size(const Node& v, const std::string& field) {
    std::optional<uint64_t> n;
    if (v.kind == Node::Kind::Scalar) n = parse_size(v.scalar);
    if (!n) fail(v.where, field, "expected a size (a number, optionally with K, M or G), got " + describe(v));
    return *n;
}

bool to_bool(const Node& v, const std::string& field) {
    if (v.kind == Node::Kind::Scalar && v.scalar == "true") return true;
    if (v.kind == Node::Kind::Scalar && v.scalar == "false") return false;
    fail(v.where, field, "expected true or false, got " + describe(v));
}

// Index of the scalar among `names`.
std::size_t to_choice(const Node& v, const std::string& field, std::initializer_list<std::string_view> names) {
    std::size_t i = 0;
    std::string listed;
    for (std::string_view name : names) {
        if (v.kind == Node::Kind::Scalar && v.scalar == name) return i;
        listed += (i++ ? ", " : "") + std::string(name);
    }
    fail(v.where, field, "expected one of " + listed + ", got " + describe(v));
}

arch::Granule to_granule(const Node& v, const std::string& field) {
    std::optional<uint64_t> n;
    if (v.kind == Node::Kind::Scalar) n = parse_size(v.scalar);
    for (arch::Granule g : {arch::Granule::K4, arch::Granule::K16, arch::Granule::K64})
        if (n == arch::granule_bytes(g)) return g;
    fail(v.where, field, "expected one of 4k, 16k, 64k, got " + describe(v));
}

const std::vector<Node>& to_list(const Node& v, const std::string& field) {
    if (v.kind != Node::Kind::Seq && v.kind != Node::Kind::Null)
        fail(v.where, field, "expected a list, got " + describe(v));
    return v.items;
}

// A map keyed by user-chosen names (vms, devices).
const std::vector<Entry>& to_entries(const Node& v, const std::string& field) {
    if (v.kind != Node::Kind::Map && v.kind != Node::Kind::Null)
        fail(v.where, field, "expected a map, got " + describe(v));
    return v.entries;
}

// One map of settings. Construction rejects keys outside `allowed`, so a typo
// is an error rather than a silently ignored setting.
class Fields {
public:
    Fields(const Node& n, std::string path, std::initializer_list<std::string_view> allowed)
        : Fields(n, n.where, std::move(path), allowed) {}
    // A named entry (a vm, a device): a missing key is reported at its name.
    Fields(const Entry& e, std::string path, std::initializer_list<std::string_view> allowed)
        : Fields(e.value, e.where, std::move(path), allowed) {}

    const Node* get(std::string_view key) const {
        const Entry* e = n_.find(key);
        return e ? &e->value : nullptr;
    }
    const Node& require(std::string_view key) const {
        if (const Node* v = get(key)) return *v;
        fail(where_, field(key), "required key missing");
    }
    std::string field(std::string_view key) const { return path_.empty() ? std::string(key) : path_ + "." + std::string(key); }

    template <class T>
    void read_uint(std::string_view key, T& out, uint64_t lo, uint64_t hi) const {
        if (const Node* v = get(key)) out = static_cast<T>(to_uint(*v, field(key), lo, hi));
    }
    void read_bool(std::string_view key, bool& out) const {
        if (const Node* v = get(key)) out = to_bool(*v, field(key));
    }

private:
    Fields(const Node& n, std::string where, std::string path, std::initializer_list<std::string_view> allowed)
        : n_(n), where_(std::move(where)), path_(std::move(path)) {
        if (n.kind != Node::Kind::Map && n.kind != Node::Kind::Null)
            fail(n.where, path_, "expected a map, got " + describe(n));
        for (const Entry& e : n.entries)
            if (std::find(allowed.begin(), allowed.end(), e.key) == allowed.end())
                throw InputError(e.where + ": unknown key '" + field(e.key) + "'");
    }

    const Node& n_;
    std::string where_;  // for "required key missing"
    std::string path_;
};

// ---------------------------------------------------------------------------
// Address ranges.

// [base, base + size) lies below `limit` (no wrap-around).
bool fits(uint64_t base, uint64_t size, uint64_t limit) { return size <= limit && base <= limit - size; }

std::string range_text(uint64_t base, uint64_t size) {
    const bool wraps = size - 1 > UINT64_MAX - base;
    return "[" + hex(base) + ", " + (wraps ? "beyond 2^64" : base + size == 0 ? "2^64" : hex(base + size)) + ")";
}

// "IPA range [a, b) exceeds the 40-bit IPA space (vms.vm0.s2.ias)": one wording
// for config mappings and trace records.
std::string exceeds(const std::string& space, uint64_t base, uint64_t size, unsigned bits, const std::string& limit) {
    return space + " range " + range_text(base, size) + " exceeds the " + std::to_string(bits) + "-bit " + space +
           " space (" + limit + ")";
}

// What is wrong with [in, in + size) as the input of a table of `bits` input
// bits ("" if nothing): it must lie in [0, 2^bits), or with `ttb1` in the
// upper VA range [2^64 - 2^bits, 2^64) and end a granule short of 2^64 (the
// kernel's range arithmetic, iova + size in __arm_smmu_tlb_inv_range and
// io-pgtable's loops, would wrap to 0 there). One wording for config
// mappings and trace records.
std::string input_problem(const std::string& space, uint64_t in, uint64_t size, unsigned bits, bool ttb1,
                          uint64_t granule, const std::string& limit) {
    if (!ttb1) return fits(in, size, uint64_t{1} << bits) ? "" : exceeds(space, in, size, bits, limit);
    const uint64_t base = ~uint64_t{0} << bits;
    if (in >= base && fits(in - base, size, (uint64_t{1} << bits) - granule)) return "";
    return space + " range " + range_text(in, size) + " is not in the upper VA range " +
           range_text(base, (uint64_t{1} << bits) - granule) + " of a ttb1 table with " + std::to_string(bits) +
           " VA bits (" + limit + "; VA[55] set, bits above " + std::to_string(bits - 1) +
           " all ones, the last granule below 2^64 left unmapped)";
}

bool overlaps(uint64_t a, uint64_t a_size, uint64_t b, uint64_t b_size) {
    return a - b < b_size || b - a < a_size;  // unsigned: a lies in b's range, or b in a's
}

// Every byte of [base, base + size) is the input of some mapping in `map`
// (mappings may abut; `map` has no overlaps).
bool covered(const std::vector<Mapping>& map, uint64_t base, uint64_t size) {
    std::vector<const Mapping*> sorted;
    for (const Mapping& m : map) sorted.push_back(&m);
    std::sort(sorted.begin(), sorted.end(), [](const Mapping* a, const Mapping* b) { return a->in < b->in; });
    for (const Mapping* m : sorted) {
        if (base < m->in) return false;
        if (base - m->in >= m->size) continue;
        const uint64_t left = m->size - (base - m->in);  // bytes of m from base on
        if (size <= left) return true;
        base += left;
        size -= left;
    }
    return false;
}

// ---------------------------------------------------------------------------
// Mapping lists.

// The table a mapping list describes.
struct Space {
    std::string_view in_key;   // "ipa" or "va"
    std::string_view out_key;  // "pa" or "out"
    std::string in_name;       // "IPA" or "VA"
    arch::Granule granule;
    unsigned in_bits;
    std::string in_bits_field;  // the setting that bounds the input space
    const Node* in_bits_node = nullptr;  // the setting that gave in_bits (null: a default)
    std::string in_bits_node_field;     // and its name
    const Node* granule_node = nullptr;  // the setting that chose the granule (null: a default)
    std::string granule_field;
    bool ttb1 = false;                   // a context's table of the upper VA range
    const Node* ttb1_node = nullptr;     // the setting that asked for it
    std::string ttb1_field;
};

struct ParsedMapping {
    Mapping m;
    std::string out_where;
    std::string out_field;
    const Node* out_node = nullptr;  // null: not from the config (a trace record)
};

// Leaf sizes the granule's descriptors can express: the page and the blocks.
std::vector<uint64_t> leaf_sizes(arch::Granule g) {
    std::vector<uint64_t> sizes;
    for (unsigned level = 3; level >= 1; --level)
        if (level == 3 || arch::block_allowed(g, level)) sizes.push_back(uint64_t{1} << arch::level_shift(g, level));
    return sizes;
}

bool parse_perm(const std::string& s, Mapping& m) {
    m.read = m.write = m.exec = false;
    if (s == "none") return true;
    if (s.empty()) return false;
    for (char c : s) {
        bool* bit = c == 'r' ? &m.read : c == 'w' ? &m.write : c == 'x' ? &m.exec : nullptr;
        if (!bit || *bit) return false;
        *bit = true;
    }
    return true;
}

ParsedMapping read_mapping(const Node& item, const std::string& path, const Space& s) {
    Fields f(item, path, {s.in_key, s.out_key, "size", "perm", "page"});
    ParsedMapping p;
    Mapping& m = p.m;
    m.where = item.where;
    const Node& in = f.require(s.in_key);
    const Node& out = f.require(s.out_key);
    const Node& size = f.require("size");
    m.in = to_uint(in, f.field(s.in_key));
    m.out = to_uint(out, f.field(s.out_key));
    m.size = to_size(size, f.field("size"));
    p.out_where = out.where;
    p.out_field = f.field(s.out_key);
    p.out_node = &out;

    if (const Node* perm = f.get("perm")) {
        if (perm->kind != Node::Kind::Scalar || !parse_perm(perm->scalar, m))
            fail(perm->where, f.field("perm"), "expected some of r, w, x (each at most once) or none, got " + describe(*perm));
    }
    const uint64_t granule = arch::granule_bytes(s.granule);
    if (const Node* page = f.get("page"); page && !(page->kind == Node::Kind::Scalar && page->scalar == "auto")) {
        const std::vector<uint64_t> valid = leaf_sizes(s.granule);
        std::optional<uint64_t> bytes;
        if (page->kind == Node::Kind::Scalar) bytes = parse_size(page->scalar);
        if (!bytes || std::find(valid.begin(), valid.end(), *bytes) == valid.end()) {
            std::string listed;
            for (uint64_t v : valid) listed += (listed.empty() ? "" : ", ") + size_name(v);
            fail(page->where, f.field("page"), "expected auto or a leaf size of the " + size_name(granule) +
                                                   " granule (" + listed + "), got " + describe(*page));
        }
        m.page = *bytes;
    }

    if (m.size == 0) fail(size.where, f.field("size"), "must not be 0");
    const uint64_t unit = m.page ? m.page : granule;
    const std::string unit_name = "the " + size_name(unit) + (m.page ? " page" : " granule");
    // The page, or the table's granule when none is given, may be the setting given last.
    const Setting unit_setting = m.page ? Setting{f.get("page"), f.field("page")} : Setting{s.granule_node, s.granule_field};
    if (m.size % unit) fail_latest({{&size, f.field("size")}, unit_setting}, hex(m.size) + " is not a multiple of " + unit_name);
    if (m.in % unit) fail_latest({{&in, f.field(s.in_key)}, unit_setting}, hex(m.in) + " is not aligned to " + unit_name);
    if (m.out % unit) fail_latest({{&out, f.field(s.out_key)}, unit_setting}, hex(m.out) + " is not aligned to " + unit_name);
    if (const std::string problem =
            input_problem(s.in_name, m.in, m.size, s.in_bits, s.ttb1, granule, s.in_bits_field);
        !problem.empty())
        fail_latest({{&in, f.field(s.in_key)}, {s.in_bits_node, s.in_bits_node_field}, {s.ttb1_node, s.ttb1_field}},
                    problem);
    return p;
}

std::vector<ParsedMapping> read_map(const Node* list, const std::string& path, const Space& s) {
    std::vector<ParsedMapping> map;
    if (!list) return map;
    const std::vector<Node>& items = to_list(*list, path);
    for (std::size_t i = 0; i < items.size(); ++i)
        map.push_back(read_mapping(items[i], path + "[" + std::to_string(i) + "]", s));

    // Sorted by input, any overlap shows between neighbours; blame the later entry.
    std::vector<std::size_t> order(map.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return map[a].m.in < map[b].m.in; });
    for (std::size_t k = 1; k < order.size(); ++k) {
        const std::size_t a = std::min(order[k - 1], order[k]), b = std::max(order[k - 1], order[k]);
        const Mapping &ma = map[a].m, &mb = map[b].m;
        if (!overlaps(ma.in, ma.size, mb.in, mb.size)) continue;
        // Blame the entry given last (a later file or --set may have moved
        // the earlier one), the later one in the list on a tie.
        const std::string pa = path + "[" + std::to_string(a) + "]", pb = path + "[" + std::to_string(b) + "]";
        const Setting la = latest_in(items[a], pa), lb = latest_in(items[b], pb);
        const bool blame_a = later(lb, la).node == la.node && la.node != lb.node;
        const Mapping &mine = blame_a ? ma : mb, &other = blame_a ? mb : ma;
        fail((blame_a ? la : lb).node->where, (blame_a ? la : lb).field,
             s.in_name + " range " + range_text(mine.in, mine.size) + " overlaps " + (blame_a ? pb : pa) + " " +
                 range_text(other.in, other.size) + " at " + other.where);
    }
    return map;
}

// Checks shared by every mapping whose output is a PA: the memory and the
// SMMU must both reach it, and devices must not be able to write the tables.
struct PaSpace {
    unsigned bits;
    std::string bits_field;
    uint64_t table_base, table_size;
    const Node *bits_node = nullptr, *table_base_node = nullptr, *table_size_node = nullptr;
};

void check_pa(const ParsedMapping& p, const PaSpace& pa) {
    const Mapping& m = p.m;
    // A trace record is always the one to blame; a config mapping shares the
    // blame with the limits it broke.
    auto blame = [&](std::vector<Setting> limits, const std::string& problem) {
        if (!p.out_node) fail(p.out_where, p.out_field, problem);
        limits.insert(limits.begin(), Setting{p.out_node, p.out_field});
        fail_latest(limits, problem);
    };
    if (!fits(m.out, m.size, uint64_t{1} << pa.bits))
        blame({{pa.bits_node, pa.bits_field}}, exceeds("PA", m.out, m.size, pa.bits, pa.bits_field));
    if (overlaps(m.out, m.size, pa.table_base, pa.table_size))
        blame({{pa.table_base_node, "memory.table_base"}, {pa.table_size_node, "memory.table_size"}},
              "PA range " + range_text(m.out, m.size) + " overlaps the table region " +
                  range_text(pa.table_base, pa.table_size) + " (memory.table_base, memory.table_size)");
}

// Where the settings that limit others came from, for fail_latest (null: default).
struct Limits {
    const Node *oas = nullptr, *pa_bits = nullptr, *table_base = nullptr, *table_size = nullptr;
    const Node *sid_bits = nullptr, *ssid_bits = nullptr, *vmid16 = nullptr;
    const Node* stt = nullptr;  // smmu.idr.IDR3.STT (or all of IDR3)
    const Node *pri = nullptr, *stall_model = nullptr;  // smmu.idr.IDR0.PRI, .STALL_MODEL (or all of IDR0)
    const Node* smmus = nullptr;  // the list of SMMU instances
};

// Where the settings of the vms, devices and vIOMMUs read so far came from,
// for checks that relate one entry to another: duplicates, a nested device's
// outputs in its VM's map, the VMID topology.
struct Origins {
    std::map<std::string, const Node*> vm_vmid, vm_map;  // by VM name (null: not set)
    struct Device {
        Setting sid, smmu, vsid, viommu, vm;
    };
    std::map<std::string, Device> devices;               // by device name
    std::map<std::string, Setting> viommu_smmu;          // by vIOMMU name
};

// An ID register field as smmu.idr sets it (the last setting wins), else the
// model's reset value `dflt` (0: no optional feature the loader checks).
uint64_t idr_field(const SmmuParams& s, std::string_view field, uint64_t dflt = 0) {
    for (const IdrSetting& f : s.idr)
        if (f.field == field) dflt = f.value;
    return dflt;
}

// Where smmu.idr set `reg`.`field`: the field's node, or the whole register's.
const Node* idr_node(const Node* idr, std::string_view reg, std::string_view field) {
    const Entry* r = idr ? idr->find(reg) : nullptr;
    if (!r) return nullptr;
    if (r->value.kind != Node::Kind::Map) return &r->value;
    const Entry* f = r->value.find(field);
    return f ? &f->value : nullptr;
}

// ---------------------------------------------------------------------------
// Sections.

// Names are trace tokens and --set path components: no spaces, '#' or '.',
// and never a number, so a trace's device token is a name or a StreamID, not both.
void check_name(const Entry& e, const std::string& section) {
    const std::string& n = e.key;
    bool ok = !n.empty() && (std::isalpha(static_cast<unsigned char>(n[0])) || n[0] == '_');
    for (char c : n) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-');
    if (!ok)
        throw InputError(e.where + ": " + section + "." + n +
                         ": a name must start with a letter or '_' and hold only letters, digits, '_' and '-'");
}

// smmu.idr: ID register fields by the architecture's names. Fields the rest of
// the configuration also sets (SIDSIZE, SSIDSIZE, OAS, VMID16) are written
// through to those keys, so every check sees the SMMU the driver will see.
void read_idr(const Node& node, const std::string& path, SmmuParams& s) {
    if (node.kind != Node::Kind::Map && node.kind != Node::Kind::Null)
        fail(node.where, path, "expected a map of ID registers (IDR0: {MSI: 0, ...}), got " + describe(node));
    for (const Entry& reg : node.entries) {
        const std::string rpath = path + "." + reg.key;
        bool known = false, whole = false;
        for (const arch::IdField& f : arch::kIdFields)
            if (f.reg == reg.key) {
                known = true;
                whole = f.field.name.empty();
            }
        if (!known) throw InputError(reg.where + ": unknown key '" + rpath + "' (IDR0-IDR5, IIDR, AIDR)");
        auto set = [&](const arch::IdField& f, const Node& v, const std::string& field) {
            const uint64_t max = f.field.mask() >> f.field.lsb;
            const uint64_t value = to_uint(v, field, 0, max);
            IdrSetting st{std::string(f.reg), std::string(f.field.name), f.offset, static_cast<uint32_t>(f.field.mask()),
                          f.field.lsb, value};
            if (st.field == "SIDSIZE") {
                if (value < 1 || value > 32) fail(v.where, field, "must be 1..32, got " + std::to_string(value));
                s.sid_bits = static_cast<unsigned>(value);
            } else if (st.field == "SSIDSIZE") {
                if (value > 20) fail(v.where, field, "must be 0..20, got " + std::to_string(value));
                s.ssid_bits = static_cast<unsigned>(value);
            } else if (st.field == "OAS") {
                static constexpr unsigned bits[] = {32, 36, 40, 42, 44, 48};
                if (value >= 6) fail(v.where, field, "encoding " + std::to_string(value) + " (52 bits or reserved) is not modelled: 0..5");
                s.oas = bits[value];
            } else if ((st.field == "CMDQS" || st.field == "EVENTQS") && (value < 1 || value > 19)) {
                fail(v.where, field, "must be 1..19 (queues up to 2^19 entries), got " + std::to_string(value));
            } else if (st.field == "VMID16") {
                s.vmid16 = value != 0;
            } else if (st.field == "FWB" && value != 0) {
                // The model computes no memory attributes, so STE.S2FWB could have no
                // effect: it must not advertise the feature (IHI 0070 6.3.4 IDR3.FWB).
                fail(v.where, field, "1 is not modelled (the model computes no memory attributes for STE.S2FWB "
                                     "to change): 0");
            } else if (st.field == "HTTU" && value != 0) {
                // Walks only read: with HTTU advertised, a CD.HA/STE.S2HA table's AF=0
                // would fault (F_ACCESS) where the SMMU must set AF (IHI 0070 3.13).
                fail(v.where, field, std::to_string(value) + " is not modelled (walks never update the access "
                                     "flag or dirty state): 0");
            }
            s.idr.push_back(st);
        };
        if (whole) {
            for (const arch::IdField& f : arch::kIdFields)
                if (f.reg == reg.key) set(f, reg.value, rpath);
            continue;
        }
        if (reg.value.kind != Node::Kind::Map && reg.value.kind != Node::Kind::Null)
            fail(reg.value.where, rpath, "expected a map of fields ({MSI: 0, ...}), got " + describe(reg.value));
        for (const Entry& e : reg.value.entries) {
            const arch::IdField* field = nullptr;
            for (const arch::IdField& f : arch::kIdFields)
                if (f.reg == reg.key && f.field.name == e.key) field = &f;
            if (!field) throw InputError(e.where + ": unknown key '" + rpath + "." + e.key + "' (not a field of " + reg.key + ")");
            set(*field, e.value, rpath + "." + e.key);
        }
    }
}
// A cache's entries, ways and policy (smmu.caches.<name>, devices.<d>.ats.atc):
// a geometry hardware could have (the cache template's rules).
void read_cache_geometry(const Fields& c, CacheConfig& cc) {
    c.read_uint("entries", cc.entries, 0, 1u << 24);
    c.read_uint("ways", cc.ways, 0, 1u << 24);
    static const char* const policies[] = {"lru", "plru", "random", "round-robin"};
    if (const Node* v = c.get("policy"))
        cc.policy = policies[to_choice(*v, c.field("policy"), {"lru", "plru", "random", "round-robin"})];
    const unsigned ways = cc.ways ? cc.ways : cc.entries;
    const auto pow2 = [](unsigned v) { return v != 0 && (v & (v - 1)) == 0; };
    if (cc.entries != 0) {
        const Setting ways_set{c.get("ways"), c.field("ways")}, entries_set{c.get("entries"), c.field("entries")};
        if (ways > cc.entries || cc.entries % ways != 0)
            fail_latest({ways_set, entries_set},
                        std::to_string(ways) + " ways do not divide " + std::to_string(cc.entries) + " entries");
        if (cc.policy == "plru" && !pow2(ways))
            fail_latest({{c.get("policy"), c.field("policy")}, ways_set, entries_set},
                        "plru needs a power-of-two number of ways, not " + std::to_string(ways));
    }
}

// devices.<d>.ats: true/false, or a map (enabled, atc, pcie_round_trip_ns,
// inv_response_ns: a number or "never").
void read_ats(const Node& v, const std::string& field, DeviceConfig& d) {
    if (v.kind != Node::Kind::Map) {
        d.ats = to_bool(v, field);
        return;
    }
    const Fields f(v, field, {"enabled", "atc", "pcie_round_trip_ns", "inv_response_ns"});
    d.ats = true;
    f.read_bool("enabled", d.ats);
    AtsDeviceConfig& a = d.ats_device;
    if (const Node* atc = f.get("atc")) {
        const Fields c(*atc, f.field("atc"), {"entries", "ways", "policy"});
        read_cache_geometry(c, a.atc);
    }
    f.read_uint("pcie_round_trip_ns", a.pcie_round_trip_ns, 0, 1000000000);
    if (const Node* r = f.get("inv_response_ns")) {
        if (r->kind == Node::Kind::Scalar && r->scalar == "never")
            a.inv_response_ns.reset();
        else
            a.inv_response_ns = static_cast<unsigned>(to_uint(*r, f.field("inv_response_ns"), 0, 1000000000));
    }
}

// devices.<d>.pri: true/false, or a map (enabled, outstanding, prg_response_pasid_required).
void read_pri(const Node& v, const std::string& field, DeviceConfig& d) {
    if (v.kind != Node::Kind::Map) {
        d.pri.enabled = to_bool(v, field);
        return;
    }
    const Fields f(v, field, {"enabled", "outstanding", "prg_response_pasid_required"});
    d.pri.enabled = true;
    f.read_bool("enabled", d.pri.enabled);
    f.read_bool("prg_response_pasid_required", d.pri.prg_response_pasid_required);
    // The PRG Index is 9 bits: no more groups can be outstanding (PCIe 6.0 10.4.1).
    f.read_uint("outstanding", d.pri.outstanding, 1, 512);
}

// Memory all caches may take together (every SMMU instance's caches, and a
// micro-TLB per device): 512 MiB. The caches allocate every entry when the
// platform is built, so a mistyped size must not exhaust memory; the cost of
// an entry is the model's own (TranslationUnit::cache_entry_bytes).
constexpr uint64_t kCacheBudgetBytes = uint64_t{512} << 20;

// Reads smmu.*; returns where each cache's `entries` was set (for the budget).
std::vector<Setting> read_smmu(const Fields& f, SmmuParams& s) {
    std::vector<Setting> entries;
    f.read_uint("clock_mhz", s.clock_mhz, 1, 1000000);  // up to a 1 ps period
    // 52 is an IDR5.OAS encoding too, but the descriptors modelled hold 48 bits.
    if (const Node* v = f.get("oas")) s.oas = to_uint_of(*v, f.field("oas"), {32, 36, 40, 42, 44, 48});
    f.read_uint("sid_bits", s.sid_bits, 1, 32);
    f.read_uint("ssid_bits", s.ssid_bits, 0, 20);
    f.read_bool("vmid16", s.vmid16);
    static constexpr TableFormat formats[] = {TableFormat::Linear, TableFormat::TwoLevel};
    if (const Node* v = f.get("stream_table")) s.stream_table = formats[to_choice(*v, f.field("stream_table"), {"linear", "2level"})];
    if (const Node* v = f.get("strtab_split")) s.strtab_split = to_uint_of(*v, f.field("strtab_split"), {6, 8, 10});
    if (const Node* v = f.get("cd_table")) s.cd_table = formats[to_choice(*v, f.field("cd_table"), {"linear", "2level"})];
    f.read_uint("cmdq_log2size", s.cmdq_log2size, 1, 19);
    f.read_uint("eventq_log2size", s.eventq_log2size, 1, 19);
    f.read_uint("pipeline_cycles", s.pipeline_cycles, 0, UINT32_MAX);
    f.read_uint("cmd_cycles", s.cmd_cycles, 0, UINT32_MAX);
    f.read_uint("inv_cycles", s.inv_cycles, 0, UINT32_MAX);
    f.read_uint("mmio_cycles", s.mmio_cycles, 0, UINT32_MAX);
    f.read_uint("translation_slots", s.translation_slots, 0, 65536);
    f.read_uint("walk_slots", s.walk_slots, 0, 65536);
    f.read_uint("tlb_ports", s.tlb_ports, 0, 64);
    f.read_uint("walk_port_bytes", s.walk_port_bytes, 0, 4096);
    if (const Node* caches = f.get("caches")) {
        const Fields cf(*caches, f.field("caches"),
                        {"iotlb", "config", "walk_s1_l0", "walk_s1_l1", "walk_s1_l2", "walk_s1_l3", "walk_s2_l0",
                         "walk_s2_l1", "walk_s2_l2", "walk_s2_l3", "ipa", "utlb"});
        for (const std::string& name : cache_names()) {
            const Node* node = cf.get(name);
            if (!node) continue;
            const Fields c(*node, cf.field(name), {"entries", "ways", "policy", "latency"});
            CacheConfig cc;
            read_cache_geometry(c, cc);
            if (c.get("entries")) entries.push_back({c.get("entries"), c.field("entries")});
            c.read_uint("latency", cc.latency, 0, 1000000);
            s.caches[name] = cc;
        }
    }
    if (const Node* idr = f.get("idr")) read_idr(*idr, f.field("idr"), s);
    return entries;
}

// `smmu` is read first: the table region must lie where the SMMU can reach.
void read_memory(const Fields& f, MemoryParams& m, const SmmuParams& smmu, const Node* oas_node) {
    f.read_uint("pa_bits", m.pa_bits, 32, 52);
    f.read_uint("read_latency_ns", m.read_latency_ns, 0, UINT32_MAX);
    f.read_uint("write_latency_ns", m.write_latency_ns, 0, UINT32_MAX);
    if (const Node* v = f.get("table_base")) {
        m.table_base = to_uint(*v, f.field("table_base"));
        if (m.table_base % 4096) fail(v->where, f.field("table_base"), hex(m.table_base) + " is not 4K aligned");
    }
    if (const Node* v = f.get("table_size")) {
        m.table_size = to_size(*v, f.field("table_size"));
        if (m.table_size == 0 || m.table_size % 4096)
            fail(v->where, f.field("table_size"), hex(m.table_size) + " is not a non-zero multiple of 4K");
    }
    const unsigned bits = std::min(m.pa_bits, smmu.oas);
    if (!fits(m.table_base, m.table_size, uint64_t{1} << bits))
        fail_latest({{f.get("table_base"), f.field("table_base")},
                     {f.get("table_size"), f.field("table_size")},
                     {f.get("pa_bits"), f.field("pa_bits")},
                     {oas_node, "smmu.oas"}},
                    "table region " + range_text(m.table_base, m.table_size) + " exceeds the " + std::to_string(bits) +
                        "-bit PA space (memory.pa_bits, smmu.oas)");
}

PaSpace pa_space(const Config& c, const Limits& lim = {}) {
    const bool memory_limits = c.memory.pa_bits <= c.smmu.oas;
    return {memory_limits ? c.memory.pa_bits : c.smmu.oas, memory_limits ? "memory.pa_bits" : "smmu.oas",
            c.memory.table_base, c.memory.table_size,
            memory_limits ? lim.pa_bits : lim.oas, lim.table_base, lim.table_size};
}

VmConfig read_vm(const Entry& e, const Config& c, const Limits& lim, Origins& o) {
    check_name(e, "vms");
    const Fields f(e, "vms." + e.key, {"vmid", "s2", "guest_tables", "map", "start"});
    VmConfig vm;
    vm.name = e.key;
    vm.where = e.where;
    f.read_bool("start", vm.start);
    if (const Node* v = f.get("vmid")) {
        const uint64_t max = c.smmu.vmid16 ? 0xffff : 0xff;
        const uint64_t id = to_uint(*v, f.field("vmid"));
        if (id > max)
            fail_latest({{v, f.field("vmid")}, {lim.vmid16, "smmu.vmid16"}},
                        std::to_string(id) + " does not fit in " +
                            (c.smmu.vmid16 ? "16 bits" : "8 bits (smmu.vmid16 is false)"));
        for (const VmConfig& other : c.vms)
            if (other.vmid == id)
                fail_clash({v, f.field("vmid")}, vm.name, vm.where, {o.vm_vmid[other.name], "vms." + other.name + ".vmid"},
                           other.name, other.where, [&](const std::string& name, const std::string& where) {
                               return std::to_string(id) + " is also the vmid of vm '" + name + "' at " + where;
                           });
        vm.vmid = static_cast<uint16_t>(id);
    }
    o.vm_vmid[vm.name] = f.get("vmid");
    o.vm_map[vm.name] = f.get("map");
    // Without AArch32 tables the SMMU's IPA size (IAS) equals its OAS: a larger
    // S2 input space could not be reached by S1 outputs, so it is the default and the limit.
    vm.s2.ias = c.smmu.oas;
    const Node* ias_node = lim.oas;
    const Node* start_level = nullptr;
    const Node* granule_node = nullptr;
    if (const Node* s2n = f.get("s2")) {
        const Fields s2(*s2n, f.field("s2"), {"granule", "ias", "start_level"});
        start_level = s2.get("start_level");
        granule_node = s2.get("granule");
        if (const Node* v = s2.get("granule")) vm.s2.granule = to_granule(*v, s2.field("granule"));
        if (const Node* v = s2.get("ias")) {
            vm.s2.ias = static_cast<unsigned>(to_uint(*v, s2.field("ias"), 25, 48));
            if (vm.s2.ias > c.smmu.oas)
                fail_latest({{v, s2.field("ias")}, {lim.oas, "smmu.oas"}},
                            std::to_string(vm.s2.ias) + " exceeds smmu.oas (" + std::to_string(c.smmu.oas) + ")");
            ias_node = v;
        }
    }
    if (start_level) {
        // IHI 0070 5.2 S2SL0 (as VTCR_EL2.SL0): a level some encoding names
        // (4K level 3 only with IDR3.STT), that resolves the IPA size with 1
        // to 16 concatenated tables (the Arm ARM's AArch64.S2InconsistentSL).
        const auto level = static_cast<unsigned>(to_uint(*start_level, f.field("s2.start_level"), 0, 3));
        const bool stt = idr_field(c.smmu, "STT") != 0;
        const std::string g = std::string(arch::granule_name(vm.s2.granule));
        std::string fit;
        for (unsigned l = 0; l < 4; ++l)
            if (arch::s2sl0_encoding(vm.s2.granule, l, stt) && arch::s2_start_level_consistent(vm.s2.granule, vm.s2.ias, l))
                fit += (fit.empty() ? "" : ", ") + std::to_string(l);
        const std::string can = fit.empty() ? "none can" : "level " + fit + " can";
        if (!arch::s2sl0_encoding(vm.s2.granule, level, stt))
            fail_latest({{start_level, f.field("s2.start_level")}, {granule_node, f.field("s2.granule")},
                         {lim.stt, "smmu.idr.IDR3.STT"}},
                        "no STE.S2SL0 encoding starts a " + g + " stage 2 at level " + std::to_string(level) +
                            (vm.s2.granule == arch::Granule::K4 ? " (level 3 needs smmu.idr.IDR3.STT: 1)" : "") +
                            "; for " + std::to_string(vm.s2.ias) + " IPA bits " + can);
        if (!arch::s2_start_level_consistent(vm.s2.granule, vm.s2.ias, level)) {
            const unsigned shift = arch::level_shift(vm.s2.granule, level);
            fail_latest({{start_level, f.field("s2.start_level")}, {granule_node, f.field("s2.granule")},
                         {ias_node, ias_node == lim.oas ? "smmu.oas" : f.field("s2.ias")}},
                        "level " + std::to_string(level) + " cannot start a " + g + " stage 2 of " +
                            std::to_string(vm.s2.ias) + " IPA bits: it would resolve " +
                            (vm.s2.ias > shift ? std::to_string(vm.s2.ias - shift) : std::string("no")) +
                            " bits, a start level resolves 1 to " +
                            std::to_string(arch::level_stride(vm.s2.granule) + 4) +
                            " (up to 16 concatenated tables); " + can);
        }
        vm.s2.start_level = level;
    }

    const Space space{"ipa",        "pa",     "IPA",    vm.s2.granule,
                      vm.s2.ias,    f.field("s2.ias"),  ias_node, ias_node == lim.oas ? "smmu.oas" : f.field("s2.ias"),
                      granule_node, f.field("s2.granule"), false, nullptr, ""};
    const PaSpace pa = pa_space(c, lim);
    for (ParsedMapping& p : read_map(f.get("map"), f.field("map"), space)) {
        check_pa(p, pa);
        vm.map.push_back(std::move(p.m));
    }

    if (const Node* g = f.get("guest_tables")) {
        const Fields gt(*g, f.field("guest_tables"), {"ipa", "size"});
        const Node& ipa = gt.require("ipa");
        const Node& size = gt.require("size");
        vm.guest_tables_ipa = to_uint(ipa, gt.field("ipa"));
        vm.guest_tables_size = to_size(size, gt.field("size"));
        if (vm.guest_tables_ipa % 4096) fail(ipa.where, gt.field("ipa"), hex(vm.guest_tables_ipa) + " is not 4K aligned");
        if (vm.guest_tables_size == 0 || vm.guest_tables_size % 4096)
            fail(size.where, gt.field("size"), hex(vm.guest_tables_size) + " is not a non-zero multiple of 4K");
        std::vector<Setting> blame{{&ipa, gt.field("ipa")}, {&size, gt.field("size")}};
        if (const Node* map = f.get("map")) blame.push_back(latest_in(*map, f.field("map")));
        if (!covered(vm.map, vm.guest_tables_ipa, vm.guest_tables_size))
            fail_latest(blame, "IPA range not in the VM: " + range_text(vm.guest_tables_ipa, vm.guest_tables_size) +
                                   " is not all mapped by " + f.field("map"));
        // The host carves the tables from the PA behind one entry (HostDriver::vm_hwpt).
        if (std::none_of(vm.map.begin(), vm.map.end(), [&](const Mapping& m) {
                return vm.guest_tables_ipa >= m.in && vm.guest_tables_ipa - m.in + vm.guest_tables_size <= m.size;
            }))
            fail_latest(blame, range_text(vm.guest_tables_ipa, vm.guest_tables_size) + " must lie in one " +
                                   f.field("map") + " entry (the guest's tables need contiguous RAM)");
    }
    return vm;
}

// `earlier_ssids`: the ssid settings of the device's contexts read before.
ContextConfig read_context(const Node& n, const std::string& path, const DeviceConfig& dev, const VmConfig* vm,
                           const Config& c, const Limits& lim, const Origins& o,
                           const std::vector<Setting>& earlier_ssids) {
    const Fields f(n, path, {"ssid", "asid", "granule", "va_bits", "ttb1", "map"});
    ContextConfig ctx;
    ctx.where = n.where;
    if (const Node* v = f.get("ssid")) {
        const uint64_t ssid = to_uint(*v, f.field("ssid"));
        if (ssid >> c.smmu.ssid_bits)
            fail_latest({{v, f.field("ssid")}, {lim.ssid_bits, "smmu.ssid_bits"}},
                        std::to_string(ssid) + " does not fit in smmu.ssid_bits (" + std::to_string(c.smmu.ssid_bits) +
                            ")");
        ctx.ssid = static_cast<uint32_t>(ssid);
    }
    for (std::size_t i = 0; i < dev.contexts.size(); ++i)
        if (dev.contexts[i].ssid == ctx.ssid)
            fail_clash({f.get("ssid"), f.field("ssid")}, "", n.where, earlier_ssids.at(i), "", dev.contexts[i].where,
                       [&](const std::string&, const std::string& where) {
                           return std::to_string(ctx.ssid) + " is also the ssid of the context at " + where;
                       });
    f.read_uint("asid", ctx.asid, 0, 0xffff);
    if (const Node* v = f.get("granule")) ctx.granule = to_granule(*v, f.field("granule"));
    f.read_uint("va_bits", ctx.va_bits, 25, 48);
    f.read_bool("ttb1", ctx.ttb1);

    const Space space{"va",           "out",           "VA",     ctx.granule,     ctx.va_bits,
                      f.field("va_bits"), f.get("va_bits"), f.field("va_bits"), f.get("granule"), f.field("granule"),
                      ctx.ttb1,       f.get("ttb1"),   f.field("ttb1")};
    const PaSpace pa = pa_space(c, lim);
    for (ParsedMapping& p : read_map(f.get("map"), f.field("map"), space)) {
        if (vm) {
            if (!covered(vm->map, p.m.out, p.m.size)) {
                // A later file or --set may have changed the VM's map rather than this mapping.
                std::vector<Setting> blame{{p.out_node, p.out_field}};
                if (const Node* map = o.vm_map.at(vm->name)) blame.push_back(latest_in(*map, "vms." + vm->name + ".map"));
                fail_latest(blame, "IPA range not in the VM: " + range_text(p.m.out, p.m.size) +
                                       " is not all mapped by vms." + vm->name + ".map");
            }
        } else {
            check_pa(p, pa);
        }
        ctx.map.push_back(std::move(p.m));
    }
    return ctx;
}

DeviceConfig read_device(const Entry& e, Config& c, const Limits& lim, Origins& o) {
    check_name(e, "devices");
    const Fields f(e, "devices." + e.key,
                   {"smmu", "sid", "attach", "vm", "viommu", "vsid", "outstanding", "contexts", "vste_fields", "ats",
                    "pri", "stall"});
    DeviceConfig d;
    d.name = e.key;
    d.where = e.where;

    d.smmu = c.smmus.front();
    if (const Node* v = f.get("smmu")) {
        if (v->kind != Node::Kind::Scalar || c.smmu_index(v->scalar) < 0)
            fail_latest({{v, f.field("smmu")}, {lim.smmus, "smmus"}}, "unknown SMMU " + describe(*v) + " (smmus lists them)");
        d.smmu = v->scalar;
    }
    const Node& sid = f.require("sid");
    const uint64_t sid_value = to_uint(sid, f.field("sid"));
    if (sid_value >> c.smmu.sid_bits)
        fail_latest({{&sid, f.field("sid")}, {lim.sid_bits, "smmu.sid_bits"}},
                    hex(sid_value) + " does not fit in smmu.sid_bits (" + std::to_string(c.smmu.sid_bits) + ")");
    d.sid = static_cast<uint32_t>(sid_value);
    // StreamIDs are per SMMU instance: the sid or smmu given last is blamed.
    Origins::Device& mine = o.devices[d.name];
    mine.sid = {&sid, f.field("sid")};
    mine.smmu = {f.get("smmu"), f.field("smmu")};
    mine.vm = {f.get("vm"), f.field("vm")};
    for (const DeviceConfig& other : c.devices)
        if (other.sid == d.sid && other.smmu == d.smmu) {
            const Origins::Device& theirs = o.devices.at(other.name);
            fail_clash(later(mine.sid, mine.smmu), d.name, d.where, later(theirs.sid, theirs.smmu), other.name,
                       other.where, [&](const std::string& name, const std::string& where) {
                           return hex(d.sid) + " is also the sid of device '" + name + "' at " + where + " on " + d.smmu;
                       });
        }

    static constexpr AttachMode modes[] = {AttachMode::Abort, AttachMode::Bypass, AttachMode::S1,
                                           AttachMode::S2,    AttachMode::Nested, AttachMode::Proxy};
    const Node& attach = f.require("attach");
    d.attach = modes[to_choice(attach, f.field("attach"), {"abort", "bypass", "s1", "s2", "nested", "proxy"})];
    // A key the attach mode does not use: blamed on whichever was given last.
    auto not_allowed = [&](const Node* v, const std::string& key, const std::string& why) {
        fail_latest({{v, f.field(key)}, {&attach, f.field("attach")}},
                    key + " is not allowed with attach " + attach_mode_name(d.attach) + " (" + why + ")");
    };
    // A key the attach mode needs: missing since a later attach, that attach is blamed.
    auto needed = [&](std::string_view key) -> const Node& {
        if (!f.get(key) && attach.order > e.value.order)
            fail(attach.where, f.field(key),
                 "required key missing (attach " + std::string(attach_mode_name(d.attach)) + " needs it)");
        return f.require(key);
    };
    const std::string mode = attach_mode_name(d.attach);
    const bool via_viommu = d.attach == AttachMode::Nested || d.attach == AttachMode::Proxy;
    const bool has_s1 = d.attach == AttachMode::S1 || d.attach == AttachMode::Nested;

    const VmConfig* vm = nullptr;
    const Node* viommu_node = f.get("viommu");
    if (viommu_node && !via_viommu) not_allowed(viommu_node, "viommu", "only nested and proxy");
    if (viommu_node) {
        const ViommuConfig* vi = viommu_node->kind == Node::Kind::Scalar ? c.find_viommu(viommu_node->scalar) : nullptr;
        if (!vi || vi->implicit) fail(viommu_node->where, f.field("viommu"), "unknown viommu " + describe(*viommu_node));
        if (vi->smmu != d.smmu)
            fail_latest({{viommu_node, f.field("viommu")}, mine.smmu, o.viommu_smmu.at(vi->name)},
                        "viommu " + vi->name + " is on " + vi->smmu + ", the device on " + d.smmu +
                            ": a vIOMMU serves one SMMU instance");
        if (const Node* v = f.get("vm"))
            fail_latest({{v, f.field("vm")}, {viommu_node, f.field("viommu")}},
                        "vm is not allowed with a viommu (the vIOMMU names the VM)");
        d.viommu = vi->name;
        vm = c.find_vm(vi->vm);
    } else if (d.attach == AttachMode::S2 || d.attach == AttachMode::Nested) {
        const Node& v = needed("vm");
        if (v.kind != Node::Kind::Scalar || !(vm = c.find_vm(v.scalar)))
            fail(v.where, f.field("vm"), "unknown vm " + describe(v));
        if (d.attach == AttachMode::Nested) {
            // A nested device naming only its VM gets the VM's vIOMMU on its SMMU.
            const std::string name = vm->name + "@" + d.smmu;
            if (!c.find_viommu(name)) c.viommus.push_back(ViommuConfig{name, vm->name, d.smmu, true, d.where});
            d.viommu = name;
        }
    } else if (d.attach == AttachMode::Proxy) {
        needed("viommu");
    } else if (const Node* v = f.get("vm")) {
        not_allowed(v, "vm", "only s2 and nested use a vm");
    }
    if (vm) d.vm = vm->name;

    d.vsid = d.sid;
    if (const Node* v = f.get("vsid")) {
        if (!via_viommu) not_allowed(v, "vsid", "only nested and proxy");
        d.vsid = static_cast<uint32_t>(to_uint(*v, f.field("vsid"), 0, 0xffffffffu));
    }
    // The vSID defaults to the SID; the vIOMMU is named or implied by the vm.
    mine.vsid = f.get("vsid") ? Setting{f.get("vsid"), f.field("vsid")} : mine.sid;
    mine.viommu = viommu_node ? Setting{viommu_node, f.field("viommu")} : Setting{f.get("vm"), f.field("vm")};
    if (via_viommu)
        for (const DeviceConfig& other : c.devices)
            if (other.viommu == d.viommu && other.vsid == d.vsid) {
                const Origins::Device& theirs = o.devices.at(other.name);
                fail_clash(later(mine.vsid, mine.viommu), d.name, d.where, later(theirs.vsid, theirs.viommu),
                           other.name, other.where, [&](const std::string& name, const std::string&) {
                               return hex(d.vsid) + " is also the vSID of device '" + name + "' on viommu " + d.viommu;
                           });
            }

    f.read_uint("outstanding", d.outstanding, 1, 256);
    if (const Node* v = f.get("ats")) read_ats(*v, f.field("ats"), d);
    if (d.ats && (d.attach == AttachMode::Abort || d.attach == AttachMode::Bypass))
        fail_latest({{f.get("ats"), f.field("ats")}, {&attach, f.field("attach")}},
                    "ATS needs a translating attach (s1, s2, nested or proxy)");
    // I/O page faults (docs/pri-stall.md): what the kernel would enable, on an
    // attach whose faults the host's handler can map.
    if (const Node* v = f.get("pri")) {
        read_pri(*v, f.field("pri"), d);
        if (d.pri.enabled && idr_field(c.smmu, "PRI") == 0)
            fail_latest({{v, f.field("pri")}, {lim.pri, "smmu.idr.IDR0.PRI"}},
                        "devices." + d.name + ".pri needs smmu.idr.IDR0.PRI: 1 (PRI is enabled only with "
                        "ARM_SMMU_FEAT_PRI; the SMMU has no PRI queue)");
    }
    if (const Node* v = f.get("stall")) {
        f.read_bool("stall", d.stall);
        // STALL_MODEL resets to 1 here (models/smmu/stream_table: caps.stall_model).
        if (d.stall && idr_field(c.smmu, "STALL_MODEL", 1) == 1)
            fail_latest({{v, f.field("stall")}, {lim.stall_model, "smmu.idr.IDR0.STALL_MODEL"}},
                        "devices." + d.name + ".stall needs smmu.idr.IDR0.STALL_MODEL: 0 or 2 (arm_smmu_probe_device "
                        "honours dma-can-stall only with ARM_SMMU_FEAT_STALLS; STALL_MODEL 1 cannot stall)");
    }
    if ((d.pri.enabled || d.stall) && d.attach != AttachMode::S1 && d.attach != AttachMode::S2) {
        const Node* which = d.pri.enabled ? f.get("pri") : f.get("stall");
        fail_latest({{which, f.field(d.pri.enabled ? "pri" : "stall")}, {&attach, f.field("attach")}},
                    "I/O page faults need attach s1 or s2 (the host's fault handler maps the page into a host DMA "
                    "domain or the VM's S2)");
    }
    if (const Node* v = f.get("vste_fields")) {
        if (!via_viommu) not_allowed(v, "vste_fields", "only nested and proxy");
        for (const Entry& fe : to_entries(*v, f.field("vste_fields"))) {
            const auto known = std::find_if(std::begin(arch::ste::kAll), std::end(arch::ste::kAll),
                                            [&](const arch::FieldDef& fd) { return fd.name == fe.key; });
            if (known == std::end(arch::ste::kAll))
                fail(fe.where, f.field("vste_fields") + "." + fe.key, "not an STE field name");
            if (known->word >= 2)
                fail(fe.where, f.field("vste_fields") + "." + fe.key,
                     "not in the two words of a vSTE (a guest passes STE words 0 and 1 only)");
            d.vste_fields.emplace_back(fe.key, to_uint(fe.value, f.field("vste_fields") + "." + fe.key));
        }
    }

    if (has_s1) {
        const Node& list = needed("contexts");
        const std::vector<Node>& items = to_list(list, f.field("contexts"));
        if (items.empty()) fail(list.where, f.field("contexts"), "attach " + mode + " needs at least one context");
        std::vector<Setting> ssids;
        for (std::size_t i = 0; i < items.size(); ++i) {
            const std::string path = f.field("contexts") + "[" + std::to_string(i) + "]";
            d.contexts.push_back(read_context(items[i], path, d, d.attach == AttachMode::Nested ? vm : nullptr, c,
                                              lim, o, ssids));
            ssids.push_back({items[i].find("ssid") ? &items[i].find("ssid")->value : nullptr, path + ".ssid"});
        }
    } else if (const Node* v = f.get("contexts")) {
        not_allowed(v, "contexts", "only s1 and nested have contexts");
    }
    return d;
}

ViommuConfig read_viommu(const Entry& e, const Config& c, const Limits& lim, Origins& o) {
    check_name(e, "viommus");
    const Fields f(e, "viommus." + e.key, {"vm", "smmu"});
    ViommuConfig v;
    v.name = e.key;
    v.where = e.where;
    const Node& vm = f.require("vm");
    if (vm.kind != Node::Kind::Scalar || !c.find_vm(vm.scalar)) fail(vm.where, f.field("vm"), "unknown vm " + describe(vm));
    v.vm = vm.scalar;
    v.smmu = c.smmus.front();
    if (const Node* s = f.get("smmu")) {
        if (s->kind != Node::Kind::Scalar || c.smmu_index(s->scalar) < 0)
            fail_latest({{s, f.field("smmu")}, {lim.smmus, "smmus"}}, "unknown SMMU " + describe(*s) + " (smmus lists them)");
        v.smmu = s->scalar;
    }
    o.viommu_smmu[v.name] = {f.get("smmu"), f.field("smmu")};
    return v;
}

Config build(const Node& root) {
    const Fields top(root, "", {"seed", "sim", "smmus", "smmu", "memory", "host", "vms", "viommus", "devices"});
    Config c;
    if (const Node* v = top.get("seed")) c.seed = to_uint(*v, "seed");

    static const Node empty;
    if (const Node* list = top.get("smmus")) {
        c.smmus.clear();
        for (const Node& n : to_list(*list, "smmus")) {
            if (n.kind != Node::Kind::Scalar) fail(n.where, "smmus", "expected a name, got " + describe(n));
            check_name(Entry{n.scalar, n.where, n}, "smmus");
            if (c.smmu_index(n.scalar) >= 0) fail(n.where, "smmus", "'" + n.scalar + "' is listed twice");
            c.smmus.push_back(n.scalar);
        }
        if (c.smmus.empty()) fail(list->where, "smmus", "at least one SMMU instance is needed");
    }
    const Node* smmu_node = top.get("smmu");
    const Fields smmu(smmu_node ? *smmu_node : empty, "smmu",
                      {"clock_mhz", "oas", "sid_bits", "ssid_bits", "vmid16", "stream_table", "strtab_split",
                       "cd_table", "cmdq_log2size", "eventq_log2size", "pipeline_cycles", "cmd_cycles", "inv_cycles",
                       "mmio_cycles", "translation_slots", "walk_slots", "tlb_ports", "walk_port_bytes", "caches", "idr"});
    const std::vector<Setting> cache_entries = read_smmu(smmu, c.smmu);

    const Node* memory_node = top.get("memory");
    const Fields memory(memory_node ? *memory_node : empty, "memory",
                        {"pa_bits", "read_latency_ns", "write_latency_ns", "table_base", "table_size"});
    read_memory(memory, c.memory, c.smmu, smmu.get("oas"));
    const Node* idr = smmu.get("idr");
    const Limits lim{smmu.get("oas"),
                     memory.get("pa_bits"),
                     memory.get("table_base"),
                     memory.get("table_size"),
                     smmu.get("sid_bits"),
                     smmu.get("ssid_bits"),
                     smmu.get("vmid16"),
                     idr_node(idr, "IDR3", "STT"),
                     idr_node(idr, "IDR0", "PRI"),
                     idr_node(idr, "IDR0", "STALL_MODEL"),
                     top.get("smmus")};

    const Node* sim_node = top.get("sim");
    const Fields sim(sim_node ? *sim_node : empty, "sim", {"mode", "quantum_ns"});
    if (const Node* v = sim.get("mode"))
        c.sim.mode = to_choice(*v, sim.field("mode"), {"accurate", "fast"}) == 0 ? TimingMode::Accurate : TimingMode::Fast;
    sim.read_uint("quantum_ns", c.sim.quantum_ns, 1, 1000000000);

    const Node* host_node = top.get("host");
    const Fields host(host_node ? *host_node : empty, "host",
                      {"driver", "mmio_latency_ns", "mem_access_ns", "vmid_policy", "dma_mode", "sw", "skip_prefetch",
                       "check_invalidations", "bug_skip_s2_tlbi", "sync_timeout_us", "fault"});
    host.read_uint("sync_timeout_us", c.host.sync_timeout_us, 1, 1000000000);
    host.read_uint("mmio_latency_ns", c.host.mmio_latency_ns, 0, UINT32_MAX);
    host.read_uint("mem_access_ns", c.host.mem_access_ns, 0, UINT32_MAX);
    // host.driver names the kernel profile; host.vmid_policy is the same
    // choice by its VMID owner (per-s2-domain is mainline's).
    const Node* driver = host.get("driver");
    if (driver)
        c.host.vmid_policy = to_choice(*driver, host.field("driver"), {"linux", "linux-viommu-vmid"}) == 0
                                 ? VmidPolicy::PerS2Domain
                                 : VmidPolicy::PerViommu;
    if (const Node* v = host.get("vmid_policy")) {
        const VmidPolicy p = to_choice(*v, host.field("vmid_policy"), {"per-s2-domain", "per-viommu"}) == 0
                                 ? VmidPolicy::PerS2Domain
                                 : VmidPolicy::PerViommu;
        if (driver && p != c.host.vmid_policy)
            fail_latest({{v, host.field("vmid_policy")}, {driver, host.field("driver")}},
                        "host.vmid_policy contradicts host.driver (linux: per-s2-domain, linux-viommu-vmid: per-viommu)");
        c.host.vmid_policy = p;
    }
    if (const Node* v = host.get("dma_mode"))
        c.host.dma_mode = to_choice(*v, host.field("dma_mode"), {"strict", "lazy"}) == 0 ? DmaMode::Strict : DmaMode::Lazy;
    if (const Node* sw_node = host.get("sw")) {
        const Fields sw(*sw_node, "host.sw", {"cmdlist_ns", "cmd_ns", "ioctl_ns", "trap_ns"});
        sw.read_uint("cmdlist_ns", c.host.sw.cmdlist_ns, 0, 1000000000);
        sw.read_uint("cmd_ns", c.host.sw.cmd_ns, 0, 1000000000);
        sw.read_uint("ioctl_ns", c.host.sw.ioctl_ns, 0, 1000000000);
        sw.read_uint("trap_ns", c.host.sw.trap_ns, 0, 1000000000);
    }
    if (const Node* fault_node = host.get("fault")) {
        const Fields fault(*fault_node, "host.fault", {"policy", "handling_ns", "pa_base"});
        static constexpr FaultPolicy policies[] = {FaultPolicy::Mainline, FaultPolicy::Iopf, FaultPolicy::None};
        if (const Node* v = fault.get("policy"))
            c.host.fault.policy = policies[to_choice(*v, fault.field("policy"), {"mainline", "iopf", "none"})];
        fault.read_uint("handling_ns", c.host.fault.handling_ns, 0, 1000000000);
        if (const Node* v = fault.get("pa_base")) {
            c.host.fault.pa_base = to_uint(*v, fault.field("pa_base"));
            if (c.host.fault.pa_base % 4096 || !fits(c.host.fault.pa_base, 4096, uint64_t{1} << c.memory.pa_bits))
                fail(v->where, fault.field("pa_base"),
                     hex(c.host.fault.pa_base) + " is not a 4 KiB-aligned page inside the " +
                         std::to_string(c.memory.pa_bits) + "-bit PA space (memory.pa_bits)");
        }
    }
    host.read_bool("skip_prefetch", c.host.skip_prefetch);
    host.read_bool("check_invalidations", c.host.check_invalidations);
    host.read_bool("bug_skip_s2_tlbi", c.host.bug_skip_s2_tlbi);
    // A register access that takes no simulated time lets a CPU poll spin with
    // time standing still (the SMMU never gets to move): refuse the pair.
    if (c.host.mmio_latency_ns == 0 && c.smmu.mmio_cycles == 0)
        fail_latest({{host.get("mmio_latency_ns"), "host.mmio_latency_ns"}, {smmu.get("mmio_cycles"), "smmu.mmio_cycles"}},
                    "host.mmio_latency_ns and smmu.mmio_cycles are both 0: a register access would take no "
                    "simulated time and a poll could spin forever (one of them must be non-zero)");

    // VMs before devices: a device names its VM and its S1 outputs must lie in the VM's IPA space.
    Origins o;
    if (const Node* vms = top.get("vms"))
        for (const Entry& e : to_entries(*vms, "vms")) c.vms.push_back(read_vm(e, c, lim, o));
    if (const Node* viommus = top.get("viommus"))
        for (const Entry& e : to_entries(*viommus, "viommus")) c.viommus.push_back(read_viommu(e, c, lim, o));
    if (const Node* devices = top.get("devices"))
        for (const Entry& e : to_entries(*devices, "devices")) c.devices.push_back(read_device(e, c, lim, o));
    // Every instance has each cache; the micro-TLB is per upstream port (device).
    uint64_t bytes = 0;
    for (const auto& [name, cc] : c.smmu.caches)
        bytes += uint64_t{cc.entries} * TranslationUnit::cache_entry_bytes(name) *
                 (name == "utlb" ? std::max<std::size_t>(c.devices.size(), 1) : c.smmus.size());
    if (bytes > kCacheBudgetBytes)
        fail_latest(cache_entries, "the caches would take " + std::to_string(bytes >> 20) + " MiB (" +
                                       std::to_string(c.smmus.size()) + " SMMU instance(s), a utlb per device), over "
                                       "the budget of " + std::to_string(kCacheBudgetBytes >> 20) +
                                       " MiB; make them smaller");
    // Mainline Linux keeps the VMID in the S2 domain, finalised on one SMMU:
    // arm_vsmmu_init refuses an S2 parent of another instance (-EINVAL), and
    // so does arm_smmu_attach_dev for a direct attach.
    // Blamed on the setting given last: the profile (host.driver, or
    // host.vmid_policy; a default is never blamed) or either user's smmu or
    // vm, so a later file that moves a device to another instance is named.
    if (c.host.vmid_policy == VmidPolicy::PerS2Domain) {
        const Setting profile = later({driver, host.field("driver")}, {host.get("vmid_policy"), host.field("vmid_policy")});
        for (const VmConfig& vm : c.vms) {
            std::string first, first_who;
            Setting first_setting{nullptr, ""};
            auto use = [&](const std::string& smmu, const Setting& setting, const std::string& who) {
                if (first.empty()) {
                    first = smmu;
                    first_who = who;
                    first_setting = setting;
                } else if (smmu != first) {
                    fail_latest({setting, first_setting, profile},
                                "linux (mainline, per-s2-domain VMIDs) cannot build this: the S2 of vms." + vm.name +
                                    " is used on " + first + " (" + first_who + ") and on " + smmu + " (" + who +
                                    "); an S2 domain is finalised on one SMMU and arm_vsmmu_init returns -EINVAL for "
                                    "an S2 parent of another instance. Give each SMMU its own S2 (a VM per instance, "
                                    "as a VMM does under mainline) or use host.driver=linux-viommu-vmid");
                }
            };
            // A device's instance comes from its smmu, its VM from its vm or viommu.
            auto device_setting = [&](const std::string& name) {
                const Origins::Device& n = o.devices.at(name);
                return later(later(n.smmu, n.vm), n.viommu);
            };
            for (const ViommuConfig& v : c.viommus) {
                if (v.vm != vm.name) continue;
                // An implicit vIOMMU is made by the first nested device that names the VM.
                const auto maker = std::find_if(c.devices.begin(), c.devices.end(),
                                                [&](const DeviceConfig& d) { return d.viommu == v.name; });
                use(v.smmu, v.implicit ? device_setting(maker->name) : o.viommu_smmu.at(v.name), "viommu " + v.name);
            }
            for (const DeviceConfig& d : c.devices)
                if (d.vm == vm.name) use(d.smmu, device_setting(d.name), "device " + d.name);
        }
    }
    return c;
}

}  // namespace

void check_change(const Config& c, const ChangeRecord& ch) {
    if (ch.kind == ChangeRecord::Kind::GuestInvalidate) return;
    if (ch.kind == ChangeRecord::Kind::Lifetime) return check_lifetime(c, ch);
    const bool map = ch.kind == ChangeRecord::Kind::Map;
    // One table's rules: the granule, the input space and where outputs may go.
    auto check = [&](arch::Granule g, unsigned in_bits, bool ttb1, const std::string& in_name,
                     const std::string& in_bits_field, const VmConfig* out_vm) {
        const uint64_t granule = arch::granule_bytes(g);
        const std::string unit = "the " + size_name(granule) + " granule";
        if (ch.size % granule) fail(ch.where, "size", hex(ch.size) + " is not a multiple of " + unit);
        if (ch.in % granule) fail(ch.where, "in", hex(ch.in) + " is not aligned to " + unit);
        if (map && ch.out % granule) fail(ch.where, "out", hex(ch.out) + " is not aligned to " + unit);
        if (const std::string problem = input_problem(in_name, ch.in, ch.size, in_bits, ttb1, granule, in_bits_field);
            !problem.empty())
            fail(ch.where, "in", problem);
        if (!map) return;
        if (out_vm) {
            if (!fits(ch.out, ch.size, uint64_t{1} << out_vm->s2.ias))
                fail(ch.where, "out",
                     exceeds("IPA", ch.out, ch.size, out_vm->s2.ias, "vms." + out_vm->name + ".s2.ias"));
            return;
        }
        ParsedMapping p;
        p.m.out = ch.out;
        p.m.size = ch.size;
        p.out_where = ch.where;
        p.out_field = "out";
        check_pa(p, pa_space(c));
    };
    if (ch.stage2) {
        if (ch.target == "*" && c.vms.empty()) fail(ch.where, "target", "s2:* but the config has no vms");
        bool found = false;
        for (const VmConfig& vm : c.vms) {
            if (ch.target != "*" && vm.name != ch.target) continue;
            found = true;
            check(vm.s2.granule, vm.s2.ias, false, "IPA", "vms." + vm.name + ".s2.ias", nullptr);
        }
        if (!found) fail(ch.where, "target", "unknown vm '" + ch.target + "'");
        return;
    }
    const DeviceConfig* dev = c.find_device(ch.target);
    if (!dev) fail(ch.where, "target", "unknown device '" + ch.target + "'");
    for (std::size_t i = 0; i < dev->contexts.size(); ++i) {
        const ContextConfig& ctx = dev->contexts[i];
        if (ctx.ssid != ch.ssid) continue;
        const VmConfig* vm = dev->attach == AttachMode::Nested ? c.find_vm(dev->vm) : nullptr;
        check(ctx.granule, ctx.va_bits, ctx.ttb1, "VA",
              "devices." + dev->name + ".contexts[" + std::to_string(i) + "].va_bits", vm);
        return;
    }
    fail(ch.where, "target", "device " + dev->name + " has no stage 1 context with ssid " + std::to_string(ch.ssid));
}

namespace {
Node merged(const std::vector<std::string>& files, const std::vector<std::string>& sets) {
    Node root;
    root.kind = Node::Kind::Map;
    unsigned order = 0;
    for (const std::string& file : files) merge_into(root, read_file(file, order++));
    for (const std::string& set : sets) apply_set(root, set, order++);
    return root;
}

void emit(YAML::Emitter& out, const Node& n) {
    switch (n.kind) {
        case Node::Kind::Null:
            out << YAML::Null;
            break;
        case Node::Kind::Scalar:
            out << n.scalar;
            break;
        case Node::Kind::Seq:
            out << YAML::BeginSeq;
            for (const Node& item : n.items) emit(out, item);
            out << YAML::EndSeq;
            break;
        case Node::Kind::Map:
            out << YAML::BeginMap;
            for (const Entry& e : n.entries) {
                out << YAML::Key << e.key << YAML::Value;
                emit(out, e.value);
            }
            out << YAML::EndMap;
            break;
    }
}

nlohmann::ordered_json to_json(const Node& n) {
    switch (n.kind) {
        case Node::Kind::Null:
            return nullptr;
        case Node::Kind::Scalar:
            return n.scalar;
        case Node::Kind::Seq: {
            nlohmann::ordered_json a = nlohmann::ordered_json::array();
            for (const Node& item : n.items) a.push_back(to_json(item));
            return a;
        }
        case Node::Kind::Map:
            break;
    }
    // Keys are unique (convert and merge_into check): appended without
    // ordered_map's linear search for each, so a config of thousands of
    // devices converts in linear time.
    nlohmann::ordered_json m = nlohmann::ordered_json::object();
    auto& entries = static_cast<nlohmann::ordered_json::object_t::Container&>(m.get_ref<nlohmann::ordered_json::object_t&>());
    entries.reserve(n.entries.size());
    for (const Entry& e : n.entries) entries.emplace_back(e.key, to_json(e.value));
    return m;
}
}  // namespace

Config load_config(const std::vector<std::string>& files, const std::vector<std::string>& sets,
                   nlohmann::ordered_json* merged_json) {
    const Node root = merged(files, sets);
    Config c = build(root);
    c.sources = files;
    if (merged_json) *merged_json = to_json(root);
    return c;
}

std::string merged_config_yaml(const std::vector<std::string>& files, const std::vector<std::string>& sets) {
    YAML::Emitter out;
    emit(out, merged(files, sets));
    return std::string(out.c_str()) + "\n";
}

}  // namespace smmu::sim
