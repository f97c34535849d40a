#include "cache/eviction.h"

namespace edge::cache {

void NodeList::pushFront(EvictNode* n) {
  n->prev = nullptr;
  n->next = head_;
  if (head_) head_->prev = n;
  head_ = n;
  if (!tail_) tail_ = n;
}

void NodeList::unlink(EvictNode* n) {
  if (n->prev)
    n->prev->next = n->next;
  else
    head_ = n->next;
  if (n->next)
    n->next->prev = n->prev;
  else
    tail_ = n->prev;
  n->prev = n->next = nullptr;
}

void S3Fifo::insert(EvictNode* n) {
  n->freq = 0;
  ++count_;
  if (takeGhost(n->hash)) {
    n->queue = 2;
    main_.pushFront(n);
    main_bytes_ += n->charge;
  } else {
    n->queue = 1;
    small_.pushFront(n);
    small_bytes_ += n->charge;
  }
}

void S3Fifo::remove(EvictNode* n) {
  if (n->queue == 1) {
    small_.unlink(n);
    small_bytes_ -= n->charge;
  } else if (n->queue == 2) {
    main_.unlink(n);
    main_bytes_ -= n->charge;
  } else {
    return;
  }
  n->queue = 0;
  --count_;
}

EvictNode* S3Fifo::evictOne() {
  while (true) {
    // The small queue keeps about 10% of the capacity.
    if (!small_.empty() && (small_bytes_ * 10 >= capacity_ || main_.empty())) {
      EvictNode* n = small_.back();
      small_.unlink(n);
      small_bytes_ -= n->charge;
      if (n->freq > 0) {
        n->freq = 0;
        n->queue = 2;
        main_.pushFront(n);
        main_bytes_ += n->charge;
        continue;
      }
      n->queue = 0;
      --count_;
      rememberGhost(n->hash);
      return n;
    }
    if (main_.empty()) return nullptr;
    EvictNode* n = main_.back();
    main_.unlink(n);
    if (n->freq > 0) {
      --n->freq;
      main_.pushFront(n);
      continue;
    }
    main_bytes_ -= n->charge;
    n->queue = 0;
    --count_;
    return n;
  }
}

void S3Fifo::rememberGhost(uint64_t hash) {
  ghost_fifo_.push_back(hash);
  ++ghost_[hash];
  // The ghost queue remembers about as many keys as the cache holds objects.
  while (ghost_fifo_.size() > count_ + 1) {
    auto it = ghost_.find(ghost_fifo_.front());
    if (it != ghost_.end() && --it->second == 0) ghost_.erase(it);
    ghost_fifo_.pop_front();
  }
}

bool S3Fifo::takeGhost(uint64_t hash) {
  auto it = ghost_.find(hash);
  if (it == ghost_.end()) return false;
  // The FIFO entry stays; its count going to zero makes it inert.
  if (--it->second == 0) ghost_.erase(it);
  return true;
}

void Lru::insert(EvictNode* n) {
  n->queue = 2;
  list_.pushFront(n);
  bytes_ += n->charge;
}

void Lru::touch(EvictNode* n) {
  if (n->queue == 0) return;
  list_.unlink(n);
  list_.pushFront(n);
}

void Lru::remove(EvictNode* n) {
  if (n->queue == 0) return;
  list_.unlink(n);
  bytes_ -= n->charge;
  n->queue = 0;
}

EvictNode* Lru::evictOne() {
  EvictNode* n = list_.back();
  if (!n) return nullptr;
  remove(n);
  return n;
}

}  // namespace edge::cache
