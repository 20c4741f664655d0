// SparseMemory: the backing store of the plain-C++ tests and of the memory target.
#include <catch2/catch.hpp>

#include <array>
#include <cstring>

#include "models/memory/sparse_memory.h"

using smmu::SparseMemory;

TEST_CASE("Unwritten memory reads as zero and allocates nothing", "[memory]") {
    SparseMemory m;
    CHECK(m.pa_bits() == 52);
    std::array<uint8_t, 64> buf;
    buf.fill(0xAA);
    REQUIRE(m.read(0x1234'5678, buf.data(), 64));
    for (uint8_t b : buf) CHECK(b == 0);
    uint64_t v = 0xDEAD;
    REQUIRE(m.read64(0x000F'FFFF'FFFF'FFF8ull, v));  // last dword of the 52-bit space
    CHECK(v == 0);
    uint64_t w[8];
    std::memset(w, 0xAA, sizeof w);
    REQUIRE(m.read_words(0x8000'0000, w, 8));
    for (uint64_t x : w) CHECK(x == 0);
    buf.fill(0xAA);
    REQUIRE(m.peek(0xFFF, buf.data(), 2));  // crossing a page, nothing there
    CHECK(buf[0] == 0);
    CHECK(buf[1] == 0);
    CHECK(m.pages_allocated() == 0);
    CHECK(m.bytes_allocated() == 0);
}

TEST_CASE("Writes allocate 4 KiB pages, including across a page boundary", "[memory]") {
    SparseMemory m;
    const uint8_t data[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    REQUIRE(m.write(0x7FF8, data, 16));  // 8 bytes in page 7, 8 in page 8
    CHECK(m.pages_allocated() == 2);
    CHECK(m.bytes_allocated() == 2 * 4096);
    uint8_t back[16] = {};
    REQUIRE(m.read(0x7FF8, back, 16));
    CHECK(std::memcmp(back, data, 16) == 0);
    // Byte-level views of each side of the boundary.
    uint8_t b = 0;
    REQUIRE(m.read(0x7FFF, &b, 1));
    CHECK(b == 8);
    REQUIRE(m.read(0x8000, &b, 1));
    CHECK(b == 9);
    REQUIRE(m.read(0x8007, &b, 1));
    CHECK(b == 16);
    REQUIRE(m.read(0x8008, &b, 1));
    CHECK(b == 0);
    REQUIRE(m.read(0x7FF7, &b, 1));
    CHECK(b == 0);
    // A second write into the same pages allocates nothing new.
    REQUIRE(m.write64(0x7000, 0x1122'3344'5566'7788ull));
    CHECK(m.pages_allocated() == 2);
    // 8208 bytes from 0x100FF8: pages 0x100..0x103 (four more).
    std::array<uint8_t, 8192 + 16> big;
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint8_t>(i * 7 + 3);
    REQUIRE(m.write(0x10'0FF8, big.data(), static_cast<unsigned>(big.size())));
    CHECK(m.pages_allocated() == 6);
    std::array<uint8_t, 8192 + 16> rb{};
    REQUIRE(m.read(0x10'0FF8, rb.data(), static_cast<unsigned>(rb.size())));
    CHECK(rb == big);
}

TEST_CASE("Address range limits (2^pa_bits)", "[memory]") {
    SECTION("52-bit default") {
        SparseMemory m;
        const uint64_t top = uint64_t{1} << 52;
        uint64_t v = 0;
        CHECK(m.write64(top - 8, 0xABCD));
        REQUIRE(m.read64(top - 8, v));
        CHECK(v == 0xABCD);
        const std::size_t pages = m.pages_allocated();
        CHECK_FALSE(m.write64(top - 4, 1));  // straddles 2^52
        CHECK_FALSE(m.write64(top, 1));
        CHECK_FALSE(m.write64(~uint64_t{0} - 7, 1));
        CHECK_FALSE(m.read64(top, v));
        CHECK_FALSE(m.read64(top - 4, v));
        uint8_t b;
        CHECK_FALSE(m.read(top, &b, 1));
        CHECK_FALSE(m.peek(top, &b, 1));
        CHECK(m.read(top - 1, &b, 1));
        CHECK(m.pages_allocated() == pages);  // failed writes allocate nothing
        CHECK(m.in_range(0, 1));
        CHECK(m.in_range(top - 1, 1));
        CHECK(m.in_range(0, top));
        CHECK_FALSE(m.in_range(0, top + 1));
        CHECK_FALSE(m.in_range(top, 1));
        CHECK_FALSE(m.in_range(top - 1, 2));
        CHECK_FALSE(m.in_range(1, ~uint64_t{0}));  // no wrap-around
    }
    SECTION("40-bit memory") {
        SparseMemory m(40);
        CHECK(m.pa_bits() == 40);
        const uint64_t top = uint64_t{1} << 40;
        uint64_t v = 0;
        CHECK(m.write64(top - 8, 7));
        CHECK(m.read64(top - 8, v));
        CHECK(v == 7);
        CHECK_FALSE(m.read64(top, v));
        CHECK_FALSE(m.write64(top, 7));
        CHECK_FALSE(m.write64(top + 0x1000, 7));
        CHECK(m.page(top) == nullptr);
        CHECK(m.page(top - 1) != nullptr);
    }
}

TEST_CASE("read_words / write_words are little-endian", "[memory]") {
    SparseMemory m;
    const uint64_t w[2] = {0x0102'0304'0506'0708ull, 0x1112'1314'1516'1718ull};
    REQUIRE(m.write_words(0x100, w, 2));
    uint8_t raw[16];
    REQUIRE(m.read(0x100, raw, 16));
    const uint8_t expect[16] = {0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
                                0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11};
    CHECK(std::memcmp(raw, expect, 16) == 0);

    const uint8_t bytes[8] = {0xEF, 0xCD, 0xAB, 0x89, 0x67, 0x45, 0x23, 0x01};
    REQUIRE(m.write(0x2000, bytes, 8));
    uint64_t v = 0;
    REQUIRE(m.read64(0x2000, v));
    CHECK(v == 0x0123'4567'89AB'CDEFull);
    uint64_t r[2] = {};
    REQUIRE(m.read_words(0x100, r, 2));
    CHECK(r[0] == w[0]);
    CHECK(r[1] == w[1]);

    // An 8-dword structure (STE/CD size) crossing a page: one access.
    uint64_t ste[8];
    for (int i = 0; i < 8; ++i) ste[i] = 0x1000'0000'0000'0000ull * i + i;
    REQUIRE(m.write_words(0x3FE0, ste, 8));
    CHECK(m.read64(0x4000, v));
    CHECK(v == ste[4]);
    uint64_t back[8] = {};
    REQUIRE(m.read_words(0x3FE0, back, 8));
    for (int i = 0; i < 8; ++i) CHECK(back[i] == ste[i]);

    // More than 8 dwords is refused.
    uint64_t nine[9] = {};
    CHECK_FALSE(m.read_words(0, nine, 9));
    CHECK_FALSE(m.write_words(0, nine, 9));
    // Unaligned 64-bit accesses work byte-wise.
    REQUIRE(m.write64(0x5003, 0xA1A2'A3A4'A5A6'A7A8ull));
    uint8_t b = 0;
    REQUIRE(m.read(0x5003, &b, 1));
    CHECK(b == 0xA8);
    REQUIRE(m.read(0x500A, &b, 1));
    CHECK(b == 0xA1);
}

TEST_CASE("page() gives the backing store for DMI", "[memory]") {
    SparseMemory m;
    uint8_t* p = m.page(0x12'3456);
    REQUIRE(p != nullptr);
    CHECK(m.pages_allocated() == 1);
    CHECK(m.page(0x12'3000) == p);  // same page, same base pointer
    CHECK(m.page(0x12'3FFF) == p);
    CHECK(m.pages_allocated() == 1);
    // The pointer is the page base: byte 0x456 of it is address 0x123456.
    p[0x456] = 0x5A;
    uint8_t b = 0;
    REQUIRE(m.read(0x12'3456, &b, 1));
    CHECK(b == 0x5A);
    // Writes through the port are visible through the pointer.
    REQUIRE(m.write64(0x12'3800, 0x0807'0605'0403'0201ull));
    CHECK(p[0x800] == 0x01);
    CHECK(p[0x807] == 0x08);
    // A page already written keeps its data when page() is called.
    REQUIRE(m.write64(0x50'0000, 0x99));
    uint8_t* q = m.page(0x50'0000);
    REQUIRE(q != nullptr);
    CHECK(q != p);
    CHECK(q[0] == 0x99);
    CHECK(m.pages_allocated() == 2);
    // Outside the address space.
    CHECK(m.page(uint64_t{1} << 52) == nullptr);
    CHECK(m.pages_allocated() == 2);
}
