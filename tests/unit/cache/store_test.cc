#include "cache/store.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace edge::cache {
namespace {

EntryPtr entry(std::string key, size_t body_bytes, std::vector<std::string> tags = {},
               std::vector<std::pair<std::string, std::string>> vary = {}) {
  auto e = std::make_shared<Entry>();
  e->key = std::move(key);
  e->body.assign(body_bytes, 'x');
  e->tags = std::move(tags);
  e->vary = std::move(vary);
  e->setFields({{"Content-Type", "text/plain"}});
  return e;
}

bool any(const Entry&) {
  return true;
}

TEST(Store, InsertFindReplace) {
  Store s(1 << 20, 1 << 16);
  EXPECT_EQ(s.find("h/a", any, nullptr), nullptr);
  auto a = entry("h/a", 100);
  ASSERT_TRUE(s.insert(a));
  EXPECT_EQ(s.find("h/a", any, nullptr), a);
  EXPECT_EQ(s.objects(), 1u);
  auto a2 = entry("h/a", 200);
  ASSERT_TRUE(s.insert(a2));  // same (empty) Vary: replaces
  EXPECT_EQ(s.find("h/a", any, nullptr), a2);
  EXPECT_EQ(s.objects(), 1u);
  EXPECT_EQ(s.bytes(), a2->charge());
  // A body over max_object is not kept.
  EXPECT_FALSE(s.insert(entry("h/big", 1 << 17)));
}

TEST(Store, VariantsAreBounded) {
  Store s(1 << 22, 1 << 16);
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(s.insert(entry("h/v", 10, {}, {{"accept-language", std::to_string(i)}})));
  EXPECT_EQ(s.objects(), Store::kMaxVariants);
  bool any_variant = false;
  auto match = [](const Entry& e) { return e.vary[0].second == "nope"; };
  EXPECT_EQ(s.find("h/v", match, &any_variant), nullptr);
  EXPECT_TRUE(any_variant);
  auto match19 = [](const Entry& e) { return e.vary[0].second == "19"; };
  EXPECT_NE(s.find("h/v", match19, nullptr), nullptr);
}

TEST(Store, MemoryBoundUnderAFlood) {
  const uint64_t memory = 256 * 1024;
  Store s(memory, 8 * 1024);
  for (int i = 0; i < 5000; ++i) {
    s.insert(entry("h/flood/" + std::to_string(i), 1000));
    ASSERT_LE(s.bytes(), memory);
  }
  EXPECT_GT(s.evictions(), 0u);
  EXPECT_GT(s.objects(), 50u);
}

TEST(Store, Purges) {
  Store s(1 << 22, 1 << 16);
  s.insert(entry("h/assets/a.css", 10, {"css", "site"}));
  s.insert(entry("h/assets/b.js", 10, {"site"}));
  s.insert(entry("h/page", 10, {"page"}));
  s.insert(entry("other/assets/c.css", 10));
  EXPECT_EQ(s.purgeKey("h/page"), 1u);
  EXPECT_EQ(s.purgeKey("h/page"), 0u);
  EXPECT_EQ(s.purgeTag("css"), 1u);
  EXPECT_EQ(s.purgePrefix("h/assets/"), 1u);
  EXPECT_EQ(s.objects(), 1u);
  EXPECT_NE(s.find("other/assets/c.css", any, nullptr), nullptr);
}

TEST(Store, AHitOutlivesItsPurge) {
  Store s(1 << 20, 1 << 16);
  s.insert(entry("h/a", 100));
  EntryPtr held = s.find("h/a", any, nullptr);
  s.purgeKey("h/a");
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(held->body.size(), 100u);  // still readable by the writer that holds it
  EXPECT_EQ(s.bytes(), 0u);
}

TEST(Store, CollapsingSlots) {
  Store s(1 << 20, 1 << 16);
  EXPECT_TRUE(s.lead("h/a"));
  EXPECT_FALSE(s.lead("h/a"));
  s.finish("h/a", false);
  EXPECT_TRUE(s.lead("h/a"));
  s.finish("h/a", true);
}

}  // namespace
}  // namespace edge::cache
