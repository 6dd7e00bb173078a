package conformance

// Checks shared by the tests: the SDK's typed value against the raw JSON, the SDK's
// error codes, polling with a deadline.

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/planetscale/planetscale-go/planetscale"
)

// matchesRaw holds every field the SDK's type reads against the raw JSON the API sent:
// the key must be there (a field the SDK reads and the API leaves out is a mismatch,
// whether or not the spec lists it) and the SDK must have decoded the same value.
func matchesRaw(t *testing.T, what string, typed any, raw any) {
	t.Helper()
	encoded, err := json.Marshal(typed)
	if err != nil {
		t.Fatalf("%s: re-encode the SDK's value: %v", what, err)
	}
	var decoded any
	if err := json.Unmarshal(encoded, &decoded); err != nil {
		t.Fatal(err)
	}
	for _, problem := range compareJSON(what, decoded, raw) {
		t.Error(problem)
	}
}

// matchesLast holds the SDK's value against the body of the SDK's last response.
func matchesLast(t *testing.T, c *client, what string, typed any) {
	t.Helper()
	matchesRaw(t, what, typed, c.lastJSON(t))
}

// matchesLastData holds a list the SDK returned against the `data` of its last response.
func matchesLastData(t *testing.T, c *client, what string, typed any) {
	t.Helper()
	matchesRaw(t, what, typed, c.lastData(t))
}

func compareJSON(path string, typed, raw any) []string {
	if raw == nil {
		if isZero(typed) {
			return nil
		}
		return []string{fmt.Sprintf("%s: the API sent null, the SDK holds %v", path, typed)}
	}
	switch typed := typed.(type) {
	case map[string]any:
		rawMap, ok := raw.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: the SDK reads an object, the API sent %v", path, raw)}
		}
		var problems []string
		for _, key := range sortedKeys(typed) {
			rawValue, present := rawMap[key]
			if !present {
				problems = append(problems, fmt.Sprintf("%s.%s: the SDK reads it, the API does not send it", path, key))
				continue
			}
			problems = append(problems, compareJSON(path+"."+key, typed[key], rawValue)...)
		}
		return problems
	case []any:
		rawList, ok := raw.([]any)
		if !ok || len(rawList) != len(typed) {
			return []string{fmt.Sprintf("%s: the SDK holds %d items, the API sent %v", path, len(typed), raw)}
		}
		var problems []string
		for i := range typed {
			problems = append(problems, compareJSON(fmt.Sprintf("%s[%d]", path, i), typed[i], rawList[i])...)
		}
		return problems
	case nil:
		// A nil pointer or slice: the API sent an empty list or nothing else.
		if list, ok := raw.([]any); ok && len(list) == 0 {
			return nil
		}
		return []string{fmt.Sprintf("%s: the SDK holds nothing, the API sent %v", path, raw)}
	case string:
		rawText, ok := raw.(string)
		if ok && (rawText == typed || sameInstant(rawText, typed)) {
			return nil
		}
		return []string{fmt.Sprintf("%s: the SDK holds %q, the API sent %v", path, typed, raw)}
	default:
		if typed == raw {
			return nil
		}
		return []string{fmt.Sprintf("%s: the SDK holds %v, the API sent %v", path, typed, raw)}
	}
}

func sameInstant(a, b string) bool {
	first, err := time.Parse(time.RFC3339Nano, a)
	if err != nil {
		return false
	}
	second, err := time.Parse(time.RFC3339Nano, b)
	return err == nil && first.Equal(second)
}

func isZero(value any) bool {
	switch value := value.(type) {
	case nil:
		return true
	case string:
		return value == "" || value == "0001-01-01T00:00:00Z"
	case float64:
		return value == 0
	case bool:
		return !value
	case []any:
		return len(value) == 0
	case map[string]any:
		for _, field := range value {
			if !isZero(field) {
				return false
			}
		}
		return true
	}
	return false
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for key := range m {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	return keys
}

// field reads a nested field of raw JSON: field(v, "region", "slug").
func field(value any, keys ...string) any {
	for _, key := range keys {
		object, ok := value.(map[string]any)
		if !ok {
			return nil
		}
		value = object[key]
	}
	return value
}

// wantCode requires err to be the SDK's *planetscale.Error with the given code, as
// tools built on the SDK test it.
func wantCode(t *testing.T, what string, err error, code planetscale.ErrorCode) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want %q", what, code)
	}
	var sdkError *planetscale.Error
	if !errors.As(err, &sdkError) {
		t.Fatalf("%s: %T %v is not the SDK's *planetscale.Error", what, err, err)
	}
	if sdkError.Code != code {
		t.Fatalf("%s: code %q (%v), want %q", what, sdkError.Code, err, code)
	}
	if strings.TrimSpace(sdkError.Error()) == "" {
		t.Fatalf("%s: the error has no message", what)
	}
}

// isCode reports whether err is the SDK's error with code.
func isCode(err error, code planetscale.ErrorCode) bool {
	var sdkError *planetscale.Error
	return errors.As(err, &sdkError) && sdkError.Code == code
}

// errString is err's text, or "no error".
func errString(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}

// must fails the test on an SDK error.
func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// eventually polls check until it reports done or the deadline passes; check returns
// whether it is done and what it saw (for the failure message).
func eventually(t *testing.T, what string, timeout time.Duration, check func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	for {
		done, seen := check()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not done within %s; last seen: %s", what, timeout, seen)
		}
		<-ticker.C
	}
}

// names hands out fresh resource names: every test shares one organization.
var names atomic.Int64

// uniqueName is a fresh, valid resource name.
func uniqueName(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, names.Add(1))
}
