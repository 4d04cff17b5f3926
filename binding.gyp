{
  "targets": [
    {
      "target_name": "rtnetlink",
      "sources": [
        "native/addon.cc",
        "native/worker_pool.cc",
        "native/netlink_io.cc",
        "native/netns.cc",
        "native/netns_file.cc",
        "native/provision.cc",
        "native/watcher.cc",
        "native/cni.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NAPI_DISABLE_CPP_EXCEPTIONS",
                  "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fno-exceptions"],
      "cflags_cc!": ["-fno-rtti"],
      "conditions": [
        ["OS!='linux'", { "sources!": ["native/addon.cc"] }]
      ]
    },
    {
      "target_name": "rtnl-exec",
      "type": "executable",
      "sources": ["native/exec_helper.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    },
    {
      "target_name": "rtnetlink-cni",
      "type": "executable",
      "sources": ["native/cni_shim.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
