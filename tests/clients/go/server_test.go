package conformance

// Runs the real dbplane binary for the suite, as crates/testkit does for the Rust tests:
// a fresh data dir, managed MariaDB and PostgreSQL clusters, a free port (the server
// binds port 0 and publishes its address in <data-dir>/dbplane.addr), then
// `dbplane admin bootstrap` for an organization and an all-access service token.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	addressFile  = "dbplane.addr"
	startTimeout = 90 * time.Second
	stopTimeout  = 30 * time.Second
)

// server is one running dbplane process.
type server struct {
	binary  string
	dataDir string
	baseURL string
	cmd     *exec.Cmd
	exited  chan struct{}
}

// bootstrapToken is what `dbplane admin bootstrap` prints.
type bootstrapToken struct {
	Organization string
	UserID       string
	ID           string
	Token        string
}

// dbplaneBinary is the binary under test: DBPLANE_BIN (scripts/test.sh sets it), else
// the debug build of the workspace's cargo target dir.
func dbplaneBinary() (string, error) {
	if bin := os.Getenv("DBPLANE_BIN"); bin != "" {
		return bin, nil
	}
	target := os.Getenv("CARGO_TARGET_DIR")
	if target == "" {
		target = filepath.Join("..", "..", "..", "target")
	}
	bin, err := filepath.Abs(filepath.Join(target, "debug", "dbplane"))
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("no dbplane binary at %s: build it (cargo build -p dbplane --bin dbplane) or set DBPLANE_BIN", bin)
	}
	return bin, nil
}

// startServer starts `dbplane serve` with managed clusters on a fresh data dir.
func startServer(binary string) (*server, error) {
	dataDir, err := os.MkdirTemp("", "dbplane-go-")
	if err != nil {
		return nil, err
	}
	// The managed PostgreSQL runs as OS user postgres, which must reach the dir.
	if err := os.Chmod(dataDir, 0o755); err != nil {
		return nil, err
	}
	config := "[clusters]\nmanaged = true\nexperimental_unsafe_no_fsync = true\n"
	configFile := filepath.Join(dataDir, "config.toml")
	if err := os.WriteFile(configFile, []byte(config), 0o644); err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(dataDir, "server.log"))
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command(binary, "serve", "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--config", configFile)
	cmd.Env = append(os.Environ(), "RUST_LOG=info,dbplane=debug")
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", binary, err)
	}
	s := &server{binary: binary, dataDir: dataDir, cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitForAddress(); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

func (s *server) waitForAddress() error {
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("dbplane serve exited while starting:\n%s", s.logTail())
		default:
		}
		if address, err := os.ReadFile(filepath.Join(s.dataDir, addressFile)); err == nil {
			s.baseURL = "http://" + strings.TrimSpace(string(address))
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("dbplane serve published no address in %s:\n%s", startTimeout, s.logTail())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for {
		response, err := http.Get(s.baseURL + "/healthz")
		if err == nil {
			response.Body.Close()
			if response.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("GET /healthz did not answer 200 in %s:\n%s", startTimeout, s.logTail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// bootstrap runs `dbplane admin bootstrap` on the server's data dir.
func (s *server) bootstrap(organization, email string) (*bootstrapToken, error) {
	cmd := exec.Command(s.binary, "admin", "bootstrap", "--data-dir", s.dataDir, "--organization", organization, "--email", email)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w: %s", err, stderr.String())
	}
	var printed struct {
		Organization string `json:"organization"`
		User         struct {
			ID string `json:"id"`
		} `json:"user"`
		ServiceToken struct {
			ID    string `json:"id"`
			Token string `json:"token"`
		} `json:"service_token"`
	}
	if err := json.Unmarshal(out, &printed); err != nil {
		return nil, fmt.Errorf("bootstrap printed no JSON object: %w: %s", err, out)
	}
	return &bootstrapToken{
		Organization: printed.Organization,
		UserID:       printed.User.ID,
		ID:           printed.ServiceToken.ID,
		Token:        printed.ServiceToken.Token,
	}, nil
}

// stop sends SIGTERM so the server stops its managed clusters; one that does not exit in
// time is killed, and so is any cluster process it left behind.
func (s *server) stop() {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(stopTimeout):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	}
	s.killClusterLeftovers()
}

func (s *server) killClusterLeftovers() {
	for _, pidFile := range []string{
		"clusters/mysql/mysqld.pid",
		"clusters/postgresql/data/postmaster.pid",
		"clusters/postgres/data/postmaster.pid",
	} {
		text, err := os.ReadFile(filepath.Join(s.dataDir, pidFile))
		if err != nil {
			continue
		}
		first, _, _ := strings.Cut(string(text), "\n")
		if pid, err := strconv.Atoi(strings.TrimSpace(first)); err == nil && pid > 1 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// logTail is the end of the server's log, for failure messages.
func (s *server) logTail() string {
	text, _ := os.ReadFile(filepath.Join(s.dataDir, "server.log"))
	const keep = 6000
	if len(text) > keep {
		text = text[len(text)-keep:]
	}
	return string(text)
}
