// Package corpustest runs the whole pipeline (unpack registry, built-in
// rules, TOM analysers) over the synthetic corpus ($TOMSCAN_CORPUS) and the
// real goodware ($TOMSCAN_REAL_CORPUS), and holds the TOM results to the
// ground truth. It lives apart from package tom so that tom's unit tests do
// not depend on every extractor building.
package corpustest
