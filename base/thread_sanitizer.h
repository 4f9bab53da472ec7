// Hand-overs ThreadSanitizer cannot see, made visible to it. A gRPC completion queue passes a tag
// from the thread that queued it to the thread that takes it out, but gRPC is built without the
// instrumentation, so TSan sees no order between them. HandOff before giving the queue a tag and
// TakeOver after taking one out, both on the same address, state that order. Nothing in builds
// without ThreadSanitizer.
//
//   cmig::HandOff(&queue_);
//   alarm.Set(&queue_, when, tag);
//   ...
//   queue_.Next(&tag, &ok);
//   cmig::TakeOver(&queue_);
#ifndef CMIG_BASE_THREAD_SANITIZER_H_
#define CMIG_BASE_THREAD_SANITIZER_H_

#if defined(__SANITIZE_THREAD__)
#define CMIG_THREAD_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CMIG_THREAD_SANITIZER 1
#endif
#endif

#ifdef CMIG_THREAD_SANITIZER
extern "C" void __tsan_acquire(void* addr);  // NOLINT(bugprone-reserved-identifier)
extern "C" void __tsan_release(void* addr);  // NOLINT(bugprone-reserved-identifier)
#endif

namespace cmig {

inline void HandOff([[maybe_unused]] void* channel) {
#ifdef CMIG_THREAD_SANITIZER
  __tsan_release(channel);
#endif
}

inline void TakeOver([[maybe_unused]] void* channel) {
#ifdef CMIG_THREAD_SANITIZER
  __tsan_acquire(channel);
#endif
}

}  // namespace cmig

#endif  // CMIG_BASE_THREAD_SANITIZER_H_
