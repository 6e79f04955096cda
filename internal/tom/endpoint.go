package tom

import (
	"context"
	"net/netip"
	"sort"
	"strings"

	"github.com/tomscan/tomscan/internal/artifact"
)

// maxLocations bounds the occurrences listed per endpoint.
const maxLocations = 16

// endpoints merges the occurrences Visit kept into one entry per value
// (case-insensitive), sorted by value; locations are sorted by node and
// offset.
func (b *Build) endpoints(ctx context.Context, root *artifact.Node) []Endpoint {
	byValue := map[string]*Endpoint{}
	ids := make([]string, 0, len(b.c.hits))
	for id := range b.c.hits {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if ctx.Err() != nil {
			break
		}
		for _, h := range b.c.hits[id] {
			key := strings.ToLower(h.Value)
			e := byValue[key]
			if e == nil {
				e = &Endpoint{Value: h.Value, Kind: h.Kind, Host: h.Host, Class: h.Class}
				byValue[key] = e
			}
			e.Locations = append(e.Locations, Location{Node: id, Offset: h.Offset, Encoding: h.Encoding})
		}
	}
	out := make([]Endpoint, 0, len(byValue))
	for _, e := range byValue {
		sort.Slice(e.Locations, func(i, j int) bool {
			a, b := e.Locations[i], e.Locations[j]
			if a.Node != b.Node {
				return a.Node < b.Node
			}
			if a.Offset != b.Offset {
				return a.Offset < b.Offset
			}
			return a.Encoding < b.Encoding
		})
		if len(e.Locations) > maxLocations {
			e.LocationsOmitted = len(e.Locations) - maxLocations
			e.Locations = e.Locations[:maxLocations]
		}
		out = append(out, *e)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := strings.ToLower(out[i].Value), strings.ToLower(out[j].Value)
		if a != b {
			return a < b
		}
		return out[i].Value < out[j].Value
	})
	return out
}

func parseIPv4(h string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(h)
	return a, err == nil && a.Is4()
}

func isIPv4(h string) bool { _, ok := parseIPv4(h); return ok }

// Server is one row of a GreatFire-style server table: an endpoint, its
// country and the builds that carry it.
type Server struct {
	Endpoint string   `json:"endpoint"`
	Host     string   `json:"host"`
	Class    string   `json:"class"`
	Country  string   `json:"country,omitempty"`
	Builds   []string `json:"builds"`
}

// ServerTable joins per-build results (build name -> result) into one row
// per endpoint value, sorted by class then endpoint; builds are sorted.
func ServerTable(results map[string]*Result) []Server {
	rows := map[string]*Server{}
	for build, r := range results {
		if r == nil {
			continue
		}
		for _, e := range r.Endpoints {
			key := strings.ToLower(e.Value)
			s := rows[key]
			if s == nil {
				s = &Server{Endpoint: e.Value, Host: e.Host, Class: e.Class, Country: e.Country}
				rows[key] = s
			}
			s.Builds = append(s.Builds, build)
		}
	}
	out := make([]Server, 0, len(rows))
	for _, s := range rows {
		sort.Strings(s.Builds)
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Class != out[j].Class {
			return out[i].Class < out[j].Class
		}
		return strings.ToLower(out[i].Endpoint) < strings.ToLower(out[j].Endpoint)
	})
	return out
}
