package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// k8sContainer is the part of a pod's container the deploy files set.
type k8sContainer struct {
	Name    string   `yaml:"name"`
	Image   string   `yaml:"image"`
	Command []string `yaml:"command"`
	Env     []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom *struct {
			FieldRef *struct {
				FieldPath string `yaml:"fieldPath"`
			} `yaml:"fieldRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

func (c k8sContainer) env(name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
				return "fieldRef:" + e.ValueFrom.FieldRef.FieldPath, true
			}
			return e.Value, true
		}
	}
	return "", false
}

type k8sObject struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		CompletionMode string `yaml:"completionMode"`
		Completions    *int   `yaml:"completions"`
		Parallelism    *int   `yaml:"parallelism"`
		AccessModes    []string
		Template       struct {
			Spec struct {
				RestartPolicy string         `yaml:"restartPolicy"`
				Containers    []k8sContainer `yaml:"containers"`
				Volumes       []struct {
					Name string `yaml:"name"`
					PVC  *struct {
						ClaimName string `yaml:"claimName"`
					} `yaml:"persistentVolumeClaim"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

// claimAt is the PVC mounted at path in the pod, "" when none.
func (o k8sObject) claimAt(c k8sContainer, path string) string {
	for _, m := range c.VolumeMounts {
		if m.MountPath != path {
			continue
		}
		for _, v := range o.Spec.Template.Spec.Volumes {
			if v.Name == m.Name && v.PVC != nil {
				return v.PVC.ClaimName
			}
		}
	}
	return ""
}

// TestKubernetesDeploy parses deploy/kubernetes and checks the wiring a
// cluster cannot check for us before it is too late: the scan Job is
// Indexed, its completion index becomes --shard's index and completions its
// count, the merge Job reads the folder the shards write, both run the same
// image on the same claim, and the claim is defined.
func TestKubernetesDeploy(t *testing.T) {
	files, err := filepath.Glob("../../deploy/kubernetes/*.yaml")
	if err != nil || len(files) < 3 {
		t.Fatalf("deploy/kubernetes: %v %v", files, err)
	}
	objs := map[string]k8sObject{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(false)
		for {
			var o k8sObject
			if err := dec.Decode(&o); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			objs[o.Kind+"/"+o.Metadata.Name] = o
		}
	}
	scan, ok := objs["Job/tomscan-scan"]
	if !ok {
		t.Fatalf("no Job tomscan-scan in %v", files)
	}
	merge, ok := objs["Job/tomscan-merge"]
	if !ok {
		t.Fatal("no Job tomscan-merge")
	}
	if _, ok := objs["PersistentVolumeClaim/tomscan-data"]; !ok {
		t.Fatal("no PersistentVolumeClaim tomscan-data")
	}
	if scan.Spec.CompletionMode != "Indexed" {
		t.Errorf("scan Job completionMode %q, want Indexed", scan.Spec.CompletionMode)
	}
	if scan.Spec.Completions == nil || scan.Spec.Parallelism == nil {
		t.Fatal("scan Job without completions or parallelism")
	}
	if len(scan.Spec.Template.Spec.Containers) != 1 || len(merge.Spec.Template.Spec.Containers) != 1 {
		t.Fatal("each Job runs one container")
	}
	sc, mc := scan.Spec.Template.Spec.Containers[0], merge.Spec.Template.Spec.Containers[0]
	if sc.Image == "" || sc.Image != mc.Image {
		t.Errorf("scan image %q, merge image %q: one image (the cache key holds the tomscan version)", sc.Image, mc.Image)
	}
	if got := strings.Join(sc.Command, " "); got != "tomscan-shard.sh $(JOB_COMPLETION_INDEX) $(SHARD_COUNT)" {
		t.Errorf("scan command %q does not pass the completion index and the shard count", got)
	}
	if v, _ := sc.env("JOB_COMPLETION_INDEX"); v != "fieldRef:metadata.annotations['batch.kubernetes.io/job-completion-index']" {
		t.Errorf("JOB_COMPLETION_INDEX = %q", v)
	}
	if v, _ := sc.env("SHARD_COUNT"); v != itoa(*scan.Spec.Completions) {
		t.Errorf("SHARD_COUNT %q, completions %d: one pod per shard", v, *scan.Spec.Completions)
	}
	if *scan.Spec.Parallelism < 1 || *scan.Spec.Parallelism > *scan.Spec.Completions {
		t.Errorf("parallelism %d of %d completions", *scan.Spec.Parallelism, *scan.Spec.Completions)
	}
	shardsDir, _ := sc.env("TOMSCAN_SHARDS_DIR")
	if v, _ := mc.env("TOMSCAN_SHARDS_DIR"); v == "" || v != shardsDir {
		t.Errorf("merge reads shards from %q, scan writes them to %q", v, shardsDir)
	}
	if !strings.Contains(strings.Join(mc.Command, " "), `tomscan merge "$TOMSCAN_ARCHIVE" "$TOMSCAN_SHARDS_DIR"/shard-*`) {
		t.Errorf("merge command %q", mc.Command)
	}
	for _, c := range []struct {
		o k8sObject
		c k8sContainer
	}{{scan, sc}, {merge, mc}} {
		if c.o.claimAt(c.c, "/data") != "tomscan-data" {
			t.Errorf("%s: /data is not the tomscan-data claim", c.o.Metadata.Name)
		}
		if c.o.Spec.Template.Spec.RestartPolicy != "Never" {
			t.Errorf("%s: restartPolicy %q", c.o.Metadata.Name, c.o.Spec.Template.Spec.RestartPolicy)
		}
		for _, e := range c.c.Env {
			if strings.HasPrefix(e.Value, "/") && !strings.HasPrefix(e.Value, "/data") && !strings.HasPrefix(e.Value, "/scratch") {
				t.Errorf("%s: %s=%s is outside the mounted volumes", c.o.Metadata.Name, e.Name, e.Value)
			}
		}
	}
	if v, _ := sc.env("TOMSCAN_SCRATCH"); v != "/scratch" {
		t.Errorf("TOMSCAN_SCRATCH %q", v)
	}
}

// setupPackages reads the package array of scripts/setup.sh.
func setupPackages(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../scripts/setup.sh")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)\npkgs=\((.*?)\n\)`).FindSubmatch(b)
	if m == nil {
		t.Fatal("scripts/setup.sh: no pkgs=( ... ) array")
	}
	var pkgs []string
	for _, line := range strings.Split(string(m[1]), "\n") {
		line, _, _ = strings.Cut(line, "#")
		pkgs = append(pkgs, strings.Fields(line)...)
	}
	sort.Strings(pkgs)
	return pkgs
}

// TestDockerfilePackages: the image gets its Debian packages from
// scripts/setup.sh itself, on Debian bookworm, and installs none of its own,
// so the image has exactly the packages `make setup` installs.
func TestDockerfilePackages(t *testing.T) {
	b, err := os.ReadFile("../../deploy/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	var from []string
	for _, line := range strings.Split(df, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && strings.EqualFold(f[0], "FROM") {
			from = append(from, f[1])
		}
	}
	if len(from) != 1 || !strings.HasSuffix(from[0], "-bookworm") {
		t.Errorf("FROM %v: want one Debian bookworm base", from)
	}
	if !strings.Contains(df, "COPY scripts/setup.sh scripts/setup.sh") || !strings.Contains(df, "RUN bash scripts/setup.sh") {
		t.Error("the Dockerfile does not run scripts/setup.sh")
	}
	if regexp.MustCompile(`apt-get\s+install|apt\s+install|dpkg\s+-i`).MatchString(df) {
		t.Error("the Dockerfile installs packages of its own: add them to scripts/setup.sh instead")
	}
	for _, want := range []string{"install -m 0755 bin/tomscan /usr/local/bin/tomscan", "install -m 0755 deploy/tomscan-shard.sh /usr/local/bin/tomscan-shard.sh", "make build"} {
		if !strings.Contains(df, want) {
			t.Errorf("the Dockerfile lacks %q", want)
		}
	}
	// setup.sh installs the packages of its array, and only through apt-get
	// install of "${missing[@]}": what the image gets is that array
	pkgs := setupPackages(t)
	for _, p := range []string{"7zip", "innoextract", "unshield", "unar", "libyara-dev"} {
		if i := sort.SearchStrings(pkgs, p); i >= len(pkgs) || pkgs[i] != p {
			t.Errorf("scripts/setup.sh lacks %s, which a scan needs", p)
		}
	}
	sh, _ := os.ReadFile("../../scripts/setup.sh")
	if n := strings.Count(string(sh), "install -y"); n != 2 || !strings.Contains(string(sh), `install -y -q --no-install-recommends "${missing[@]}"`) {
		t.Errorf("scripts/setup.sh installs packages outside its pkgs array (%d installs): the image would miss or add some", n)
	}
}

// TestSlurmArrayScript runs deploy/slurm/tomscan-array.sbatch as Slurm
// would start array task 6 of 4..7 with a recording tomscan first on PATH:
// it must scan shard 2 of 4 into shard-2 with --jobs from the CPUs per task,
// and an exit 1 of tomscan (a build failed, the shard is archived) is a
// success of the task while an exit 2 is not.
func TestSlurmArrayScript(t *testing.T) {
	for _, script := range []string{"../../deploy/slurm/tomscan-array.sbatch", "../../deploy/slurm/tomscan-merge.sbatch", "../../deploy/slurm/submit.sh", "../../deploy/tomscan-shard.sh"} {
		if out, err := exec.Command("bash", "-n", script).CombinedOutput(); err != nil {
			t.Errorf("bash -n %s: %v %s", script, err, out)
		}
	}
	bin := t.TempDir()
	log := filepath.Join(bin, "args")
	fake := "#!/bin/sh\nprintf '%s\\n' \"$@\" > " + log + "\nexit ${FAKE_EXIT:-0}\n"
	if err := os.WriteFile(filepath.Join(bin, "tomscan"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	checkout, _ := filepath.Abs("../..")
	run := func(exit string) (string, error) {
		cmd := exec.Command("bash", filepath.Join(checkout, "deploy/slurm/tomscan-array.sbatch"))
		cmd.Dir = t.TempDir() // Slurm runs a copy elsewhere: the script finds deploy/ by SLURM_SUBMIT_DIR
		cmd.Env = append(os.Environ(), "PATH="+bin+":/usr/bin:/bin", "FAKE_EXIT="+exit,
			"SLURM_ARRAY_TASK_ID=6", "SLURM_ARRAY_TASK_MIN=4", "SLURM_ARRAY_TASK_COUNT=4", "SLURM_CPUS_PER_TASK=3",
			"SLURM_SUBMIT_DIR="+checkout, "TOMSCAN_INPUTS=/in", "TOMSCAN_SHARDS_DIR="+filepath.Join(bin, "shards"),
			"TOMSCAN_KEYWORD_LISTS=/kw", "TOMSCAN_JOBS=", "TOMSCAN_SCRATCH=")
		out, err := cmd.CombinedOutput()
		args, _ := os.ReadFile(log)
		return strings.Join(strings.Fields(string(args)), " ") + "\n" + string(out), err
	}
	got, err := run("0")
	if err != nil {
		t.Fatalf("array task: %v\n%s", err, got)
	}
	want := "scan /in --out " + filepath.Join(bin, "shards", "shard-2") + " --shard 2/4 --quiet --jobs 3 --keyword-lists /kw"
	if !strings.HasPrefix(got, want+"\n") {
		t.Errorf("array task 6 of 4..7 ran\n%s\nwant\n%s", got, want)
	}
	if got, err := run("1"); err != nil {
		t.Errorf("tomscan exit 1 failed the task: %v\n%s", err, got)
	}
	if _, err := run("2"); err == nil {
		t.Error("tomscan exit 2 did not fail the task")
	}
}
