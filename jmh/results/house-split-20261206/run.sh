#!/usr/bin/env bash
J=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java
for round in 1 2 3; do
  for side in before after; do
    jar=/tmp/bench-$side.jar
    $J -jar $jar 'KnnBenchmark.latent(Batch|Single)$' -p n=200000 -p k=10 -f 1 -wi 2 -i 5 -w 1 -r 1 -rf json -rff /tmp/smoke2/knn-$side-$round.json > /tmp/smoke2/knn-$side-$round.log 2>&1
  done
done
for round in 1 2; do
  for side in before after; do
    jar=/tmp/bench-$side.jar
    $J -jar $jar 'EmbedBenchmark.latent$' -p model=int8 -f 1 -wi 1 -i 3 -w 10 -r 10 -rf json -rff /tmp/smoke2/embed-$side-$round.json > /tmp/smoke2/embed-$side-$round.log 2>&1
  done
done
echo done > /tmp/smoke2/finished
