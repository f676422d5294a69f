{
  description = "pandaflow: typed streaming data pipelines on Redpanda, built on Effect 3";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.11";
    flake-utils.url = "github:numtide/flake-utils";
    # nixpkgs dropped redpanda-server (broken, 2024); this flake packages the upstream
    # binary for x86_64-linux. Elsewhere the shell falls back to Apache Kafka (same protocol).
    redpanda = {
      url = "github:fornybar/redpanda.nix";
      inputs.nixpkgs.follows = "nixpkgs";
    };
  };

  outputs = { self, nixpkgs, flake-utils, redpanda }:
    flake-utils.lib.eachDefaultSystem (system:
      let
        # rpk and the Redpanda server are under the BSL: allow just those.
        unfree = [ "redpanda-client" "redpanda-bin" "redpanda" ];
        pkgs = import nixpkgs {
          inherit system;
          config.allowUnfreePredicate = pkg: builtins.elem (nixpkgs.lib.getName pkg) unfree;
        };
        redpandaServer = redpanda.packages.${system}.redpanda-bin or null;
        broker = if redpandaServer != null then [ redpandaServer ] else [ pkgs.apacheKafka ];
      in
      {
        devShells.default = pkgs.mkShell {
          packages = [
            pkgs.nodejs_22
            pkgs.pnpm
            pkgs.postgresql_16
            pkgs.cassandra
            pkgs.jdk17
            pkgs.maven
            pkgs.redpanda-client
          ] ++ broker;
          JAVA_HOME = "${pkgs.jdk17}";
          shellHook = ''
            echo "pandaflow dev shell: node $(node --version), pnpm $(pnpm --version), java 17"
            echo "  broker: ${if redpandaServer != null then "redpanda (dev mode)" else "Apache Kafka (KRaft) — no Redpanda server for ${system}"}"
            echo "next:  pnpm install && pnpm start          # embedded mode, nothing else needed"
            echo "       pnpm services:up && source .pandaflow/env && pnpm start   # real services"
            echo "       pnpm test                            # starts the services itself"
          '';
        };
      });
}
