package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseOptions(t *testing.T) {
	names := []string{"pipe", "unix", "dma"}
	var stderr bytes.Buffer
	o, err := parseOptions(nil, names, &stderr)
	require.NoError(t, err)
	assert.Equal(t, []int{64, 1024, 16384, 65536}, o.sizes)
	assert.Equal(t, names, o.transports)
	assert.True(t, o.autoCPUs)
	assert.Equal(t, 10000, o.iterations)
	assert.Equal(t, 2*time.Second, o.duration)

	o, err = parseOptions([]string{"-n", "5", "-sizes", "4K,16,16", "-transports", "dma,pipe", "-cpus", "1,0", "-plot", "x.PNG", "-json"}, names, &stderr)
	require.NoError(t, err)
	assert.Equal(t, []int{16, 4096}, o.sizes)
	assert.Equal(t, []string{"pipe", "dma"}, o.transports, "in the registry's order")
	assert.Equal(t, []int{1, 0}, o.cpus)
	assert.False(t, o.autoCPUs)
	assert.True(t, o.json)

	o, err = parseOptions([]string{"-cpus", "none"}, names, &stderr)
	require.NoError(t, err)
	assert.Nil(t, o.cpus)
	assert.False(t, o.autoCPUs)

	for _, bad := range [][]string{
		{"-n", "0"}, {"-warmup", "-1"}, {"-duration", "-1s"}, {"-sizes", "8"}, {"-sizes", "65537"}, {"-sizes", "x"},
		{"-transports", "carrier-pigeon"}, {"-cpus", "1"}, {"-cpus", "a,b"}, {"-plot", "x.pdf"}, {"extra"}, {"-nope"},
	} {
		stderr.Reset()
		_, err := parseOptions(bad, names, &stderr)
		assert.Error(t, err, "%q", bad)
		assert.NotEmpty(t, stderr.String(), "%q: a usage error says why", bad)
	}
	stderr.Reset()
	_, err = parseOptions([]string{"-h"}, names, &stderr)
	assert.ErrorIs(t, err, errHelp)
	assert.Contains(t, stderr.String(), "Transports: pipe, unix, dma")
}
