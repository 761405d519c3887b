// newdelete.cc -- C++'s operator new and delete on goheap (tests/suites/cxx.sh):
// every form (plain, array, sized, aligned, nothrow) must reach goheap (the
// pointer is the start of a goheap object: gh_base, looked up at run time so
// the same source runs preloaded and linked), objects must be usable and
// their contents intact, and out of memory must behave as the standard says:
// std::bad_alloc from the throwing forms, nullptr from nothrow, and the
// new_handler called first.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <new>
#include <string>
#include <vector>

static int passed, failed;
#define CHECK(c, what)                                   \
  do {                                                   \
    if (c) { passed++; std::printf("PASS %s\n", what); } \
    else { failed++; std::printf("FAIL %s\n", what); }   \
  } while (0)

// goheap's operator new is the one called: it returns the start of a goheap
// object, and the operator itself is goheap's (the address dlsym gives for
// _Znwm is inside libgoheap, or, linked statically, the program's own).
using base_fn = void *(*)(void *);
static base_fn gh_base_fn;
static bool ours(void *p) { return gh_base_fn && gh_base_fn(p) == p; }
static bool operator_is_goheaps() {
  Dl_info op{}, gh{};
  void *fn = dlsym(RTLD_DEFAULT, "_Znwm");
  return fn && gh_base_fn && dladdr(fn, &op) && dladdr(reinterpret_cast<void *>(gh_base_fn), &gh) &&
         op.dli_fbase == gh.dli_fbase;
}

struct alignas(256) Wide { char bytes[300]; };
struct Node { Node *next; int value; };

static int handler_calls;
static void handler() {
  handler_calls++;
  std::set_new_handler(nullptr);  // then new throws
}

int main() {
  gh_base_fn = reinterpret_cast<base_fn>(dlsym(RTLD_DEFAULT, "gh_base"));
  CHECK(gh_base_fn != nullptr, "goheap is in the process (gh_base found)");
  CHECK(operator_is_goheaps(), "operator new is goheap's (the same object as gh_base)");
  int *one = new int(42);
  CHECK(ours(one) && *one == 42, "new int is a goheap object");
  delete one;
  char *arr = new char[1000];
  std::memset(arr, 'x', 1000);
  CHECK(ours(arr) && arr[999] == 'x', "new[] is a goheap object");
  delete[] arr;
  Wide *w = new Wide;
  CHECK(ours(w) && reinterpret_cast<std::uintptr_t>(w) % 256 == 0, "aligned new (alignas 256) is aligned and goheap's");
  delete w;
  Wide *wa = new Wide[3];
  CHECK(ours(wa), "aligned new[] is goheap's");
  CHECK(reinterpret_cast<std::uintptr_t>(wa) % 256 == 0, "aligned new[] is aligned");
  delete[] wa;
  int *nt = new (std::nothrow) int[10];
  CHECK(ours(nt), "nothrow new[] is goheap's");
  delete[] nt;
  Wide *wn = new (std::nothrow) Wide;
  CHECK(ours(wn) && reinterpret_cast<std::uintptr_t>(wn) % 256 == 0, "nothrow aligned new is goheap's and aligned");
  delete wn;
  ::operator delete(::operator new(64), 64);  // sized delete
  ::operator delete(::operator new(64, std::align_val_t(128)), 64, std::align_val_t(128));
  CHECK(true, "sized and aligned sized delete accept their objects");
  // A workload: a list and containers, contents checked.
  Node *head = nullptr;
  for (int i = 0; i < 100000; i++) head = new Node{head, i};
  long sum = 0;
  int count = 0;
  for (Node *n = head; n; n = n->next) sum += n->value, count++;
  CHECK(count == 100000 && sum == 4999950000L, "a list of 100000 nodes keeps its contents");
  while (head) { Node *n = head->next; delete head; head = n; }
  std::vector<std::string> v;
  for (int i = 0; i < 20000; i++) v.push_back(std::string(50 + i % 100, char('a' + i % 26)));
  bool ok = true;
  for (int i = 0; i < 20000; i++) ok = ok && v[i].size() == size_t(50 + i % 100) && v[i][0] == char('a' + i % 26);
  CHECK(ok, "vector<string> keeps its contents");
  // Out of memory.
  bool threw = false;
  try {
    char *huge = new char[(size_t)1 << 62];
    huge[0] = 1;
  } catch (const std::bad_alloc &) {
    threw = true;
  }
  CHECK(threw, "new of 2^62 bytes throws std::bad_alloc");
  char *none = new (std::nothrow) char[(size_t)1 << 62];
  CHECK(none == nullptr, "nothrow new of 2^62 bytes returns nullptr");
  threw = false;
  try {
    Wide *hw = new Wide[(size_t)1 << 52];
    hw[0].bytes[0] = 1;
  } catch (const std::bad_alloc &) {
    threw = true;
  }
  CHECK(threw, "aligned new[] of 2^60 bytes throws std::bad_alloc");
  std::set_new_handler(handler);
  threw = false;
  try {
    char *huge = new char[(size_t)1 << 62];
    huge[0] = 1;
  } catch (const std::bad_alloc &) {
    threw = true;
  }
  CHECK(handler_calls == 1 && threw, "the new_handler is called, then std::bad_alloc");
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
