// goro/detail/intrusive_list.hpp — the doubly linked intrusive FIFO under
// every wait queue (wait_queue for the sync primitives, waiter_queue for
// channels). Node is any struct with `Node* prev, *next; bool linked`. The
// list never allocates; every method requires the owner's lock.
#pragma once

namespace goro::detail {

template <class Node>
class intrusive_list {
 public:
  bool empty() const noexcept { return head_ == nullptr; }
  Node* front() const noexcept { return head_; }
  void push_back(Node* n) noexcept {
    n->next = nullptr;
    n->prev = tail_;
    if (tail_) tail_->next = n; else head_ = n;
    tail_ = n;
    n->linked = true;
  }
  // LIFO insertion (a mutex waiter that was woken and lost the race goes back
  // to the head: Go's semacquire with lifo=true).
  void push_front(Node* n) noexcept {
    n->prev = nullptr;
    n->next = head_;
    if (head_) head_->prev = n; else tail_ = n;
    head_ = n;
    n->linked = true;
  }
  Node* pop_front() noexcept {
    Node* n = head_;
    if (n) erase(n);
    return n;
  }
  void erase(Node* n) noexcept {
    if (n->prev) n->prev->next = n->next; else head_ = n->next;
    if (n->next) n->next->prev = n->prev; else tail_ = n->prev;
    n->prev = n->next = nullptr;
    n->linked = false;
  }
  // Detaches the whole list as a singly linked chain (via next).
  Node* take_all() noexcept {
    Node* h = head_;
    for (Node* n = h; n; n = n->next) n->linked = false;
    head_ = tail_ = nullptr;
    return h;
  }

 private:
  Node* head_ = nullptr;
  Node* tail_ = nullptr;
};

}  // namespace goro::detail
