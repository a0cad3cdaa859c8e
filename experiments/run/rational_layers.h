#pragma once
// Do the rational activations IAPT learns differ by layer? Each finished seed of a configuration
// gives one function per layer (from its summary's coefficients); the functions are compared on
// the grid the report plots them on, and a permutation test asks whether a layer's functions agree
// across seeds more than functions of different layers do. Under the null hypothesis the layer
// does not matter, so within each seed the layer labels are exchangeable: shuffling them leaves
// the statistic's distribution unchanged.
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/backend.h"
#include "nn/rational_fit.h"

namespace iapt::run {

// The grid of x the functions are compared and plotted on (the interval their start is fitted on).
constexpr double kRationalGridLo = -3.0, kRationalGridHi = 3.0;
constexpr int kRationalGridPoints = 121;
std::vector<double> rational_grid();  // kRationalGridPoints evenly spaced x from lo to hi

// One run's learned rational of each layer and the function they all started from.
struct RunRationals {
  RationalVersion version = RationalVersion::B;
  int deg_num = 0, deg_den = 0;
  std::string init;  // the named activation the start was fitted to
  nn::RationalFit start;
  std::map<int, std::vector<double>> numerator, denominator;  // layer -> coefficients

  std::vector<int> layers() const;  // in increasing order
  double value(int layer, double x) const;
  double start_value(double x) const;
};

// Nothing when the run's method has no rational activation or its summary no coefficients.
std::optional<RunRationals> read_run_rationals(const std::filesystem::path& run_dir);

// A permutation test of the layer labels: values[s][l] is seed s's layer l as a vector (a function
// on the grid, or a single number). Statistic: the squared distances of each seed's vector from its
// layer's mean over seeds, summed. p: the share of labellings (shuffled independently within each
// seed) whose statistic is at most the observed one; exact over every labelling when there are at
// most kExactShuffles, else from kShuffleDraws seeded draws with the observed labelling counted as one.
struct LabelShuffleTest {
  double p_value = 1;
  long long shuffles = 0;  // how many labellings p was computed over
  bool exact = false;
};

constexpr long long kExactShuffles = 200000;
constexpr long long kShuffleDraws = 100000;

LabelShuffleTest layer_label_test(const std::vector<std::vector<std::vector<double>>>& values);

struct RationalLayerTest {
  std::vector<std::string> seeds;  // "seed-N" of each finished run used
  std::vector<int> layers;
  std::vector<double> from_start;  // per layer: RMS distance from the start over the grid, mean over seeds
  double between_layers = 0;       // mean RMS distance between two layers' functions of one seed
  double between_seeds = 0;        // mean RMS distance between two seeds' functions of one layer
  LabelShuffleTest shape;          // on the functions: does a layer learn the same function in every seed?
  LabelShuffleTest change;         // on each seed's ranks of its layers' distances from the start (Friedman's
                                   // statistic): does a layer move as far, against the others, in every seed?
};

// The runs of configuration `label` in a sweep folder (its selected candidate where the sweep has a
// selection stage); at least 2 finished seeds with 2 layers or more.
RationalLayerTest rational_layer_test(const std::filesystem::path& sweep_dir, const std::string& label);

}  // namespace iapt::run
