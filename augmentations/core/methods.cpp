// Registration of the Table 2 baselines beyond RAW (filled in by the baselines work).
namespace frerec::augmentations {
void register_methods() {}
}  // namespace frerec::augmentations
