// The queues between pipeline stages: bounded, so memory stays bounded under
// overload, with the overflow policy a stage needs. Live sources drop the
// oldest item (a late frame is worth less than the newest one); stages after
// detection block the producer instead (their items are already paid for).
// Every drop is counted.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>

namespace safelynx::pipeline {

enum class OverflowPolicy { DropOldest, Block };

template <typename T>
class BoundedQueue {
 public:
  BoundedQueue(std::size_t capacity, OverflowPolicy policy) : capacity_(capacity), policy_(policy) {
    if (capacity == 0) throw std::invalid_argument("a queue needs a capacity of at least 1");
  }
  BoundedQueue(const BoundedQueue&) = delete;
  BoundedQueue& operator=(const BoundedQueue&) = delete;

  // Adds an item. DropOldest: never waits; a full queue loses its oldest
  // item (returned, so the caller can count it per camera). Block: waits for
  // room. After close() the item is refused and returned.
  std::optional<T> push(T item) {
    std::unique_lock lock(mutex_);
    if (policy_ == OverflowPolicy::Block)
      not_full_.wait(lock, [&] { return closed_ || items_.size() < capacity_; });
    if (closed_) return item;
    std::optional<T> dropped;
    if (items_.size() >= capacity_) {
      dropped = std::move(items_.front());
      items_.pop_front();
      ++dropped_;
    }
    items_.push_back(std::move(item));
    ++pushed_;
    lock.unlock();
    not_empty_.notify_one();
    return dropped;
  }

  // The oldest item; waits up to `timeout`. Empty once closed and drained.
  std::optional<T> pop(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    if (!not_empty_.wait_for(lock, timeout, [&] { return closed_ || !items_.empty(); })) return std::nullopt;
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    lock.unlock();
    not_full_.notify_one();
    return item;
  }

  // Wakes every waiter; pushes are refused from now on, pops drain what is left.
  void close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    not_empty_.notify_all();
    not_full_.notify_all();
  }

  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return items_.size();
  }
  std::size_t capacity() const { return capacity_; }
  bool closed() const {
    std::lock_guard lock(mutex_);
    return closed_;
  }
  std::uint64_t pushed() const {
    std::lock_guard lock(mutex_);
    return pushed_;
  }
  std::uint64_t dropped() const {
    std::lock_guard lock(mutex_);
    return dropped_;
  }

 private:
  const std::size_t capacity_;
  const OverflowPolicy policy_;
  mutable std::mutex mutex_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<T> items_;
  bool closed_ = false;
  std::uint64_t pushed_ = 0;
  std::uint64_t dropped_ = 0;
};

}  // namespace safelynx::pipeline
